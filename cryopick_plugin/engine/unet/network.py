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

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
