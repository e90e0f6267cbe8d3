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
        """Logits of x; with ``margin``, only of its centre (``margin`` px off every side).

        The margin is context the caller throws away (see tiling.py). The encoder needs all
        of it, the decoder not: each decoder level works on its input cropped as far as the
        centre allows (two padded 3x3 convolutions spoil 2 px at a crop's edge; a transposed
        convolution doubles the offset), the same centre logits for less work.
        """
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        crops = _decoder_crops(margin, len(self.dec))
        for up, dec, skip, crop in zip(self.up, self.dec, reversed(skips), crops):
            x = up(x)
            inner = crop - (skip.shape[-1] - x.shape[-1]) // 2  # of x, already cropped
            x = x[..., inner:x.shape[-2] - inner, inner:x.shape[-1] - inner]
            skip = skip[..., crop:skip.shape[-2] - crop, crop:skip.shape[-1] - crop]
            x = dec(torch.cat([x, skip], dim=1))
        rest = margin - crops[-1]
        return self.head(x[..., rest:x.shape[-2] - rest, rest:x.shape[-1] - rest])


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
