"""Open any cryopick model file: the U-Net picker, the patch classifier or their ensemble.

All offer ``pick(image, pixel_size, threshold, device, batch_size)``, ``diameter_for`` and
``threshold``, so picking code does not care which method trained the model.
"""
from .ensemble import MODEL_KIND as ENSEMBLE, EnsemblePicker
from .errors import CryopickInputError
from .fixmatch.picker import MODEL_KIND as FIXMATCH, PatchClassifier
from .io.files import read_torch_file
from .unet.picker import MODEL_KIND as UNET, UNetPicker

_PICKERS = {UNET: UNetPicker, FIXMATCH: PatchClassifier, ENSEMBLE: EnsemblePicker}


def load_picker(path, device="cpu"):
    """The picker in a model file of any kind (the file is read once)."""
    state = read_torch_file(path, device)
    cls = _PICKERS.get(state.get("kind"))
    if cls is None:
        raise CryopickInputError(f"{path}: not a cryopick model (not a U-Net, a classifier "
                                 "or an ensemble of both)")
    return cls.from_state(state, path, device)
