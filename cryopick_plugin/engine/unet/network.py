"""The U-Net of the seed: 4-level encoder, bottleneck, decoder with skip connections.

Conv3x3-BN-ReLU twice per level, max-pooling down, transposed convolution up (that is what
gives the ~31 M parameters quoted for base_features=64), a 1x1 convolution to one channel of
logits (the sigmoid is applied by the loss and by inference).
"""
import torch
from torch import nn


def _double_conv(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    #: input height and width must be multiples of this (four 2x poolings)
    multiple = 16

    def __init__(self, in_channels=1, out_channels=1, base_features=64):
        super().__init__()
        b = base_features
        widths = [b, 2 * b, 4 * b, 8 * b]
        self.base_features = b
        self.down = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.down.append(_double_conv(cin, w))
            cin = w
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = _double_conv(widths[-1], 16 * b)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        cin = 16 * b
        for w in reversed(widths):
            self.up.append(nn.ConvTranspose2d(cin, w, 2, stride=2))
            self.dec.append(_double_conv(2 * w, w))
            cin = w
        self.head = nn.Conv2d(b, out_channels, 1)

    def forward(self, x, margin=0):
        """Logits of x; with ``margin``, only of its centre: ``margin`` px off every side, or
        (top, bottom, left, right) px off each.

        The margin is context the caller throws away (see tiling.py). The encoder needs all
        of it, the decoder not: each decoder level works on its input cropped as far as the
        centre allows (two padded 3x3 convolutions spoil 2 px at a crop's edge; a transposed
        convolution doubles the offset), the same centre logits for less work.
        """
        sides = (margin,) * 4 if isinstance(margin, int) else tuple(margin)
        crops = [_decoder_crops(m, len(self.dec)) for m in sides]  # per side, deepest first
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        done = (0, 0, 0, 0)  # what the level below cropped, in its own pixels
        for level, (up, dec, skip) in enumerate(zip(self.up, self.dec, reversed(skips))):
            x = up(x)  # the skip's frame less twice what the level below cropped
            crop = [c[level] for c in crops]
            x = _crop(x, [c - 2 * d for c, d in zip(crop, done)])
            x = dec(torch.cat([x, _crop(skip, crop)], dim=1))
            done = crop
        return self.head(_crop(x, [m - d for m, d in zip(sides, done)]))


def _crop(x, sides):
    """x without (top, bottom, left, right) px."""
    top, bottom, left, right = sides
    return x[..., top:x.shape[-2] - bottom, left:x.shape[-1] - right]


def _decoder_crops(margin, levels):
    """Pixels cropped off every side of each decoder level's input, deepest level first
    (its own pixels): level l - 1 may crop 2 * (crop_l + 2), and the last crop leaves at
    least 2 px of the margin for the padded convolutions to spoil."""
    deepest = max(0, (margin - 2 - sum(2 ** k * 2 for k in range(1, levels))) // 2 ** (levels - 1))
    crops = [deepest]
    for _ in range(levels - 1):
        crops.append(2 * (crops[-1] + 2))
    if crops[-1] + 2 > margin:  # too little margin to crop: the whole decoder
        crops = [0] * levels
    return crops


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
