"""Open any cryopick model file: the U-Net picker or the FixMatch patch classifier.

Both offer ``pick(image, pixel_size, threshold, device, batch_size)``, ``diameter_for`` and
``threshold``, so picking code does not care which method trained the model.
"""
import os

import torch

from .errors import CryopickInputError


def read_model_state(path, device="cpu"):
    if not os.path.isfile(path):
        raise CryopickInputError(f"{path}: model file does not exist")
    try:
        state = torch.load(path, map_location=device, weights_only=False)
    except Exception as exc:
        raise CryopickInputError(f"{path}: not a readable model file ({exc})") from None
    if not isinstance(state, dict):
        raise CryopickInputError(f"{path}: not a cryopick model")
    return state


def load_model(path, device="cpu"):
    from .classifier import MODEL_KIND as FIXMATCH, PatchClassifier
    from .unet_model import MODEL_KIND as UNET, UNetPicker

    state = read_model_state(path, device)
    kind = state.get("kind")
    if kind == UNET:
        return UNetPicker.load(path, device)
    if kind == FIXMATCH:
        return PatchClassifier.from_state(state, path, device)
    raise CryopickInputError(f"{path}: not a cryopick model (neither U-Net nor FixMatch)")

