"""Open any cryopick model file: the U-Net picker or the FixMatch patch classifier.

Both offer ``pick(image, pixel_size, threshold, device, batch_size)``, ``diameter_for`` and
``threshold``, so picking code does not care which method trained the model.
"""
from .errors import CryopickInputError
from .fixmatch.picker import MODEL_KIND as FIXMATCH, PatchClassifier
from .io.files import read_torch_file
from .unet.picker import MODEL_KIND as UNET, UNetPicker

_PICKERS = {UNET: UNetPicker, FIXMATCH: PatchClassifier}


def load_picker(path, device="cpu"):
    """The picker in a model file of either kind (the file is read once)."""
    state = read_torch_file(path, device)
    cls = _PICKERS.get(state.get("kind"))
    if cls is None:
        raise CryopickInputError(f"{path}: not a cryopick model (neither U-Net nor FixMatch)")
    return cls.from_state(state, path, device)
