"""Probability maps of micrographs of any size, in overlapping tiles with bounded memory.

The image is reflect-padded by ``overlap`` px of context on every side (plus up to the
U-Net's multiple of 16). Tiles of ``tile`` x ``tile`` px start every ``step`` px, ``step`` a
multiple of 16, and only each tile's centre ``step`` x ``step`` block (starting ``overlap`` px
in) is kept, so:
  * every output pixel comes from a tile where it is at least ``overlap`` px from the edge;
    with ``overlap >= UNet.receptive_field_margin`` (107 px, the default) the tile holds its
    whole receptive field and the result equals whole-image inference up to float rounding;
  * tiles start on the 16-px grid of the padded image, so the U-Net's poolings see the same
    pixel blocks as in whole-image inference (a tile offset by, say, 8 px would not);
  * memory is bounded by batch_size x tile x tile activations, not by the micrograph size.
A trained model with a smaller overlap gives visible seams: with the demo model (base 16),
overlap 48 changed probabilities by up to 0.09 and 64 by up to 0.04 near tile seams.
"""
import numpy as np
import torch

from .errors import CryopickInputError

#: used when the model does not say (UNet does: multiple, receptive_field_margin)
_DEFAULT_MULTIPLE = 16
_DEFAULT_MARGIN = 107


def _pad(image, pads):
    # reflect keeps the image statistics at the border (zeros would look like a dark edge);
    # numpy reflects repeatedly when the pad exceeds the image; a 1-px dimension cannot
    # reflect, so edge-replicate it
    return np.pad(image, pads, mode="reflect" if min(image.shape) > 1 else "edge")


def _logits(model, batch, device):
    x = torch.from_numpy(np.ascontiguousarray(batch[:, None], dtype=np.float32)).to(device)
    return model(x)[:, 0]


def predict_probability_map(model, image, tile=512, overlap=None, batch_size=4, device="cpu",
                            margin=None):
    """Sigmoid probability map (float32, same shape as ``image``) of a normalised 2-D image.

    ``overlap``: px of context kept around each tile's used centre (adjacent tiles' inputs
    overlap by about twice that); None means the model's ``receptive_field_margin`` (exact).
    ``margin`` is an older name for ``overlap``. ``tile`` must be a multiple of 16 and at
    least 2 x overlap + 16. The model must already be on ``device``; it is run in eval mode
    under no_grad, and its train/eval mode is restored afterwards.
    """
    multiple = getattr(model, "multiple", _DEFAULT_MULTIPLE)
    if margin is not None:
        if overlap is not None and overlap != margin:
            raise CryopickInputError(f"overlap ({overlap}) and margin ({margin}) disagree")
        overlap = margin
    if overlap is None:
        overlap = getattr(model, "receptive_field_margin", _DEFAULT_MARGIN)
    overlap = int(np.ceil(overlap))
    if overlap < 0:
        raise CryopickInputError(f"tile overlap must be >= 0 px (got {overlap})")
    if tile % multiple or tile < 2 * overlap + multiple:
        raise CryopickInputError(
            f"tile ({tile} px) must be a multiple of {multiple} and at least 2 x overlap + "
            f"{multiple} = {2 * overlap + multiple} px")
    if int(batch_size) < 1:
        raise CryopickInputError(f"batch size must be >= 1 (got {batch_size})")
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2 or min(image.shape) < 1:
        raise CryopickInputError(f"expected a 2-D image, got shape {image.shape}")
    h, w = image.shape

    was_training = model.training
    model.eval()  # BN with running statistics: each pixel independent of the batch
    try:
        with torch.no_grad():
            if h + 2 * overlap <= tile and w + 2 * overlap <= tile:
                # one pass, padded exactly as the tiles would be
                ph, pw = -(h + 2 * overlap) % multiple, -(w + 2 * overlap) % multiple
                padded = _pad(image, ((overlap, overlap + ph), (overlap, overlap + pw)))
                prob = torch.sigmoid(_logits(model, padded[None], device)[0]).cpu().numpy()
                return np.ascontiguousarray(prob[overlap:overlap + h, overlap:overlap + w])

            # largest multiple of 16 that keeps >= overlap px of context on the far side too
            step = (tile - 2 * overlap) // multiple * multiple
            ny, nx = -(-h // step), -(-w // step)
            padded = _pad(image, ((overlap, (ny - 1) * step + tile - overlap - h),
                                  (overlap, (nx - 1) * step + tile - overlap - w)))
            out = np.empty((ny * step, nx * step), dtype=np.float32)
            corners = [(iy * step, ix * step) for iy in range(ny) for ix in range(nx)]
            for i in range(0, len(corners), int(batch_size)):
                chunk = corners[i:i + int(batch_size)]
                batch = np.stack([padded[y:y + tile, x:x + tile] for y, x in chunk])
                probs = torch.sigmoid(_logits(model, batch, device)).cpu().numpy()
                for (y, x), p in zip(chunk, probs):
                    out[y:y + step, x:x + step] = p[overlap:overlap + step,
                                                    overlap:overlap + step]
            return np.ascontiguousarray(out[:h, :w])
    finally:
        model.train(was_training)
