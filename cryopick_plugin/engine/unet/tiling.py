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

At the image's own edges there is nothing to read: the tiles add no context there (BORDER),
and the network's zero padding takes its place, as at the edges of the crops it was trained
on. 96 px of reflected context made a one-tile 1k micrograph 1.47x the pixels of the image.
`python -m benchmarks.inference_check --setting border=96,0` on the fifth matrix run's first
7 cells (docs/results/inference_check_border_2026-12-03.json): U-Net AP +0.015 on average
(+0.003 to +0.030), ensemble AP +0.006, U-Net picking 0.28 s instead of 0.37 s per test
micrograph.
"""
import math

import numpy as np
import torch

from ..device import inference_autocast, inference_copy

#: context kept around each tile's centre (working px); see the module docstring
MARGIN = 96
#: context added at the image's own edges (reflected): none, see the module docstring
BORDER = 0
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


def _steps(length, margin, max_tile, multiple, border=None):
    """(step, count): the fewest equal steps covering ``length`` whose tiles (step + the
    context on both sides: ``margin`` between tiles, ``border`` at the image's edges) fit
    ``max_tile``; steps are multiples of ``multiple`` so that every tile's poolings see the
    same pixel blocks as a whole-image pass would."""
    border = margin if border is None else border
    count = 1
    while True:
        step = -(-math.ceil(length / count) // multiple) * multiple
        # the widest tile's context: an inner tile has ``margin`` on both sides
        context = 2 * border if count == 1 else margin + max(margin, border) if count > 2 \
            else margin + border
        if step + context <= max_tile or step <= multiple:
            return step, count
        count += 1


@torch.no_grad()
def predict_logits_batch(model, batch, device, margin=0):
    """Logits of a batch of tiles, without ``margin`` px on every side (or (top, bottom,
    left, right) px on each)."""
    x = torch.from_numpy(np.ascontiguousarray(batch[:, None])).to(device)
    with inference_autocast(device):
        return model(x.contiguous(memory_format=torch.channels_last), margin)[:, 0].float()


def _axis_tiles(length, margin, border, max_tile, multiple):
    """Along one axis: [(start, size, before, after)] per tile, which keeps [start, start +
    size) and reads ``before`` / ``after`` px of context on its sides. The tiles cover the
    length rounded up to ``multiple`` and no more: the last one is cut short, so that the
    filler beyond the image is what a whole-image pass would see."""
    step, count = _steps(length, margin, max_tile, multiple, border)
    end = -(-length // multiple) * multiple
    return [(i * step, min(step, end - i * step), border if i == 0 else margin,
             border if i == count - 1 else margin) for i in range(count)]


@torch.no_grad()
def predict_probability_map(model, image, tile=None, margin=MARGIN, border=BORDER,
                            batch_size=1, device="cpu"):
    """Sigmoid probability map (float32, same shape as image) of a normalised image.

    ``tile``: the largest tile side (default: max_tile_for the model's width). ``margin``:
    context between tiles; ``border``: context added at the image's edges (reflected).
    """
    multiple = getattr(model, "multiple", 16)
    tile = max_tile_for(getattr(model, "base_features", 64), multiple) if tile is None else tile
    if tile % multiple or margin % multiple or border % multiple or tile <= 2 * margin:
        raise ValueError(f"tile ({tile}), margin ({margin}) and border ({border}) must be "
                         f"multiples of {multiple}, and tile > 2 x margin")
    fast = inference_copy(model)
    image = np.asarray(image, dtype=np.float32)
    h, w = image.shape
    rows, cols = (_axis_tiles(n, margin, border, tile, multiple) for n in (h, w))
    padded = _pad(image, ((border, rows[-1][0] + rows[-1][1] - h + border),
                          (border, cols[-1][0] + cols[-1][1] - w + border)))
    out = np.zeros((rows[-1][0] + rows[-1][1], cols[-1][0] + cols[-1][1]), dtype=np.float32)
    tiles = [(r, c) for r in rows for c in cols]
    # tiles of one shape go through the network together (a batch needs one shape)
    for shape in sorted({(r[1:], c[1:]) for r, c in tiles}):
        same = [(r[0], c[0]) for r, c in tiles if (r[1:], c[1:]) == shape]
        (sy, top, bottom), (sx, left, right) = shape
        for i in range(0, len(same), batch_size):
            chunk = same[i:i + batch_size]
            # padded coordinates: image pixel y sits at y + border
            batch = np.stack([padded[y + border - top:y + border + sy + bottom,
                                     x + border - left:x + border + sx + right]
                              for y, x in chunk])
            # the decoder skips each side's context (UNet.forward)
            logits = predict_logits_batch(fast, batch, device, (top, bottom, left, right))
            for (y, x), p in zip(chunk, torch.sigmoid(logits).cpu().numpy()):
                out[y:y + sy, x:x + sx] = p
    return out[:h, :w]
