"""Probability maps of micrographs of any size, in overlapping tiles with bounded memory.

Each tile is predicted with a margin of context on every side and only its centre is kept,
so each output pixel comes from a tile where it is at least ``margin`` pixels from the tile
edge; memory is bounded by the largest tile, not by the micrograph. The U-Net's receptive
field reaches about 107 px to each side; with a trained model a 96 px margin gave the same
map as a whole-image pass, 48 px differed by up to 0.09 at the seams.

Tiles are as few and as equal as the largest tile allows: a fixed 512 px tile spent 2.8x
the work of the image itself on a 914 px micrograph (nine tiles, most of each a margin);
the fewest equal tiles spend 1.5x. The network's decoder skips most of each margin (see
UNet.forward): the same map, a 1k micrograph in 0.9-1.3 s instead of 1.4-1.6 s in
benchmarks/speed.py on 2 cores.
"""
import math

import numpy as np
import torch

from ..device import inference_copy

#: context kept around each tile's centre (working px); see the module docstring
MARGIN = 96
#: activation memory grows with tile area x base features: this many tile pixels times base
#: features keeps a U-Net pass near 0.6 GB (base 16: tiles up to 1216 px; base 64: 608 px)
TILE_BUDGET = 16 * 1216 ** 2


def max_tile_for(base_features, multiple=16):
    """The largest tile side (a multiple of ``multiple``) within TILE_BUDGET."""
    side = int(math.sqrt(TILE_BUDGET / max(int(base_features), 1)))
    return max(multiple * 8, side - side % multiple)


def _pad(image, pads):
    mode = "reflect" if min(image.shape) > 1 else "edge"
    return np.pad(image, pads, mode=mode)


def _steps(length, margin, max_tile, multiple):
    """(step, count): the fewest equal steps covering ``length`` whose tiles (step + 2 x
    margin) fit ``max_tile``; steps are multiples of ``multiple`` so that every tile's
    poolings see the same pixel blocks as a whole-image pass would."""
    count = 1
    while True:
        step = -(-math.ceil(length / count) // multiple) * multiple
        if step + 2 * margin <= max_tile or step <= multiple:
            return step, count
        count += 1


@torch.no_grad()
def predict_logits_batch(model, batch, device, margin=0):
    """Logits of a batch of tiles, without ``margin`` px on every side."""
    x = torch.from_numpy(np.ascontiguousarray(batch[:, None])).to(device)
    return model(x.contiguous(memory_format=torch.channels_last), margin)[:, 0]


@torch.no_grad()
def predict_probability_map(model, image, tile=None, margin=MARGIN, batch_size=1,
                            device="cpu"):
    """Sigmoid probability map (float32, same shape as image) of a normalised image.

    ``tile``: the largest tile side (default: max_tile_for the model's width).
    """
    multiple = getattr(model, "multiple", 16)
    tile = max_tile_for(getattr(model, "base_features", 64), multiple) if tile is None else tile
    if tile % multiple or margin % (multiple // 2) or tile <= 2 * margin:
        raise ValueError(f"tile ({tile}) must be a multiple of {multiple}, margin ({margin}) "
                         f"of {multiple // 2}, and tile > 2 x margin")
    fast = inference_copy(model)
    image = np.asarray(image, dtype=np.float32)
    h, w = image.shape
    (sy, ny), (sx, nx) = (_steps(n, margin, tile, multiple) for n in (h, w))
    padded = _pad(image, ((margin, ny * sy - h + margin), (margin, nx * sx - w + margin)))
    out = np.zeros((ny * sy, nx * sx), dtype=np.float32)
    corners = [(iy * sy, ix * sx) for iy in range(ny) for ix in range(nx)]
    for i in range(0, len(corners), batch_size):
        chunk = corners[i:i + batch_size]
        batch = np.stack([padded[y:y + sy + 2 * margin, x:x + sx + 2 * margin]
                          for y, x in chunk])
        probs = torch.sigmoid(predict_logits_batch(fast, batch, device, margin)).cpu().numpy()
        for (y, x), p in zip(chunk, probs):
            out[y:y + sy, x:x + sx] = p
    return out[:h, :w]
