"""Small synthetic datasets the engine tests share (seconds to make)."""
from cryopick_plugin.engine.demo_data import make_demo_dataset
from cryopick_plugin.engine.io.coordinates import read_coordinates
from cryopick_plugin.engine.io.images import read_micrograph


def tiny_labelled_set(out, n_micrographs=3):
    """256 x 384 micrographs at 2 A/px, a 32 px particle, 20 per micrograph, half of the
    particles of the first two labelled, high SNR: dict(out, images, diameter, labels, truth)."""
    m = make_demo_dataset(str(out), n_micrographs=n_micrographs, size=(256, 384),
                          pixel_size=2.0, particle_diameter_a=64.0, particles_per_micrograph=20,
                          label_fraction=0.5, n_labelled_micrographs=2, snr=1.0, seed=2)
    images = {n[:-4]: read_micrograph(str(out / "micrographs" / n)) for n in m["micrographs"]}
    return dict(out=out, images=images, diameter=m["particle_diameter_px"],
                labels=read_coordinates(str(out / "labels" / "coordinates.json")),
                truth=read_coordinates(str(out / "truth" / "coordinates.json")))
