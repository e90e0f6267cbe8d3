"""The U-Net of the seed: 4-level encoder, bottleneck, decoder with skip connections.

Input (N, 1, H, W) with H and W multiples of 16 (four 2x poolings); output (N, 1, H, W) of
LOGITS: the sigmoid is applied by the loss (BCE with logits, numerically stable) and by
inference (``tiling.predict_probability_map``).

Each level is Conv3x3-BN-ReLU twice; features base, 2b, 4b, 8b down, 16b in the bottleneck,
8b .. b up. Upsampling is a 2x2 stride-2 transposed convolution: that is what gives the ~31 M
parameters quoted for base_features=64 (31,036,481 here; the 3x3 convs have no bias because BN
follows them). Bilinear upsampling would have to halve the channels before the concatenation
to stay near that size, and the model file (``unet_model``) stores only ``base_features``,
so there is one architecture.
"""
import torch
from torch import nn

from .errors import CryopickInputError

#: number of 2x poolings
LEVELS = 4


def _double_conv(cin, cout):
    # no conv bias: BN's shift makes it redundant
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    #: input height and width must be multiples of this (four 2x poolings)
    multiple = 2 ** LEVELS
    min_size = multiple
    #: how far (px) an output pixel can see into the input, at the worst pooling phase:
    #: 2x3x3 convs at each level down (2 * (2^L - 1)), in the bottleneck (2 * 2^L) and up
    #: (2 * (2^L - 1)), plus the pool / transposed-conv block alignment (2^L - 1) = 107 for
    #: L = 4, whatever base_features. Tiles need this much context to match whole-image
    #: inference exactly (tests/test_engine_unet.py checks it with gradients).
    receptive_field_margin = 5 * (2 ** LEVELS - 1) + 2 * 2 ** LEVELS

    def __init__(self, in_channels=1, out_channels=1, base_features=64):
        super().__init__()
        if int(base_features) != base_features or base_features < 1:
            raise CryopickInputError(f"base_features must be a positive integer "
                                     f"(got {base_features})")
        b = int(base_features)
        widths = [b * 2 ** i for i in range(LEVELS)]
        self.in_channels, self.out_channels, self.base_features = in_channels, out_channels, b
        self.down = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.down.append(_double_conv(cin, w))
            cin = w
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = _double_conv(widths[-1], 2 * widths[-1])
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        cin = 2 * widths[-1]
        for w in reversed(widths):
            self.up.append(nn.ConvTranspose2d(cin, w, 2, stride=2))
            self.dec.append(_double_conv(2 * w, w))  # upsampled + skip, concatenated
            cin = w
        self.head = nn.Conv2d(b, out_channels, 1)

    @classmethod
    def required_multiple(cls):
        """Input height and width must be multiples of this."""
        return cls.multiple

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % self.multiple or w % self.multiple:
            # checked here because the failure would otherwise be a cryptic torch.cat error
            raise CryopickInputError(
                f"U-Net input is {w}x{h} px; width and height must be multiples of "
                f"{self.multiple} (pad first, as tiling.predict_probability_map does)")
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)


def count_parameters(model, trainable_only=False):
    """Number of parameters (BN running statistics are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
