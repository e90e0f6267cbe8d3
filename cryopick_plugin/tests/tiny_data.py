"""Small synthetic datasets and untrained models the engine tests share (seconds to make)."""
import torch

from cryopick_plugin.engine.demo_data import make_demo_dataset
from cryopick_plugin.engine.fixmatch.network import CompactNet
from cryopick_plugin.engine.fixmatch.picker import PatchClassifier
from cryopick_plugin.engine.io.coordinates import read_coordinates
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.unet.network import UNet
from cryopick_plugin.engine.unet.picker import UNetPicker


# 256 x 384 micrographs at 2 A/px, a 32 px particle, 20 per micrograph, half of the particles
# of the first two labelled, high SNR
TINY_SET = dict(size=(256, 384), pixel_size=2.0, particle_diameter_a=64.0,
                particles_per_micrograph=20, label_fraction=0.5, n_labelled_micrographs=2,
                snr=1.0, seed=2)


def tiny_labelled_set(out, n_micrographs=3):
    """TINY_SET's micrographs: dict(out, images, diameter, labels, truth)."""
    m = make_demo_dataset(str(out), n_micrographs=n_micrographs, **TINY_SET)
    images = {n[:-4]: read_micrograph(str(out / "micrographs" / n)) for n in m["micrographs"]}
    return dict(out=out, images=images, diameter=m["particle_diameter_px"],
                labels=read_coordinates(str(out / "labels" / "coordinates.json")),
                truth=read_coordinates(str(out / "truth" / "coordinates.json")))


def import_tiny_project(test):
    """In a Scipion test class's project (after setupTestProject): tiny_labelled_set's
    micrographs imported with their hand-picked labels (``test.imp``) and the complete truth
    imported as coordinates (``test.truth``), both launched as Scipion launches them.
    Returns the dataset folder."""
    import os

    from cryopick_plugin.protocols import (CryopickProtImportCoordinates,
                                           CryopickProtImportMicrographs)

    data = os.path.join(test.outputPath, "data")
    make_demo_dataset(data, n_micrographs=3, **TINY_SET)
    test.imp = test.newProtocol(CryopickProtImportMicrographs,
                                filesPath=os.path.join(data, "micrographs"),
                                samplingRate=TINY_SET["pixel_size"],
                                coordinatesPath=os.path.join(data, "labels", "coordinates.json"),
                                particleDiameter=TINY_SET["particle_diameter_a"])
    test.launchProtocol(test.imp)
    test.truth = test.newProtocol(CryopickProtImportCoordinates,
                                  inputMicrographs=test.imp.outputMicrographs,
                                  coordinatesPath=os.path.join(data, "truth", "coordinates.star"),
                                  particleDiameter=TINY_SET["particle_diameter_a"])
    test.launchProtocol(test.truth)
    return data


def untrained_members(diameter, seed=0, pixel_size=2.0):
    """An untrained U-Net picker and compact classifier for one particle size (the two
    members of an ensemble), with random batch-norm statistics, so that both maps vary."""
    torch.manual_seed(seed)
    unet, net = UNet(base_features=4), CompactNet(dropout=0.0)
    for model, size in ((unet, 64), (net, CompactNet.WINDOW)):
        model.train()
        with torch.no_grad():
            model(torch.randn(4, 1, size, size) * 3)
        model.eval()
    return (UNetPicker(unet, diameter, 24.0, pixel_size),
            PatchClassifier(net, "compact", 0.0, diameter, 24.0, CompactNet.WINDOW, pixel_size))
