"""The patch classifier's networks and batched prediction on numpy patches.

- ``resnet18`` / ``resnet34`` / ``resnet50`` (seed 001): a torchvision ResNet on 1-channel
  patches with a dropout + single-logit head. Its zero padding makes a patch's score depend
  on where the patch ends, so a micrograph is scored patch by patch.
- ``compact``: a small residual network with no padding at all, whose receptive field is
  exactly its patch (``CompactNet.WINDOW``). A patch gives one logit; the whole micrograph in
  one pass gives the logit of every patch on a grid, the same numbers as patch by patch.
"""
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..device import inference_autocast, inference_copy
from .config import COMPACT_WINDOW

RESNETS = ("resnet18", "resnet34", "resnet50")


def build_classifier(backbone="resnet18", dropout=0.3):
    """The classifier network for a backbone name; forward on (B, 1, P, P) -> (B,) logits."""
    if backbone == "compact":
        return CompactNet(dropout)
    import torchvision

    net = getattr(torchvision.models, backbone)(weights=None)
    net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    net.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(net.fc.in_features, 1))
    return _Logit(net)


def patch_size_for(backbone, patch_size):
    """The patch side a backbone is trained on: the compact network's window, or the
    configured size for the ResNets (which pool any size down to one logit)."""
    return CompactNet.WINDOW if backbone == "compact" else int(patch_size)


class _Logit(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).flatten()


def _run(layers, x, dilation):
    """A Sequential of convolutions and element-wise layers, convolutions dilated."""
    for layer in layers:
        x = (F.conv2d(x, layer.weight, layer.bias, dilation=dilation)
             if isinstance(layer, nn.Conv2d) else layer(x))
    return x


class _Residual(nn.Module):
    """Two unpadded 3x3 convolutions; the shortcut is cropped to their output (and projected
    when the width changes)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, bias=False), nn.BatchNorm2d(cout))
        self.project = (nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
                        if cin != cout else nn.Sequential())

    def forward(self, x, dilation=1):
        crop = 2 * dilation  # two 3x3 convolutions with this dilation
        skip = _run(self.project, x[..., crop:-crop, crop:-crop], dilation)
        return F.relu(_run(self.body, x, dilation) + skip)


class CompactNet(nn.Module):
    """5x5 stem, then three (2x2 max-pool, residual block) stages of 32 / 64 / 128 channels,
    dropout and a 1x1 logit. No padding: the receptive field is WINDOW px and the output
    steps STRIDE px, so a WINDOW px patch gives one logit, and ``dense`` gives the logit of
    the patch starting at every ``stride``-th pixel of a larger image in one pass (the last
    poolings run at stride 1 and the layers after them dilated, as Topaz does)."""

    WINDOW = COMPACT_WINDOW  # 5 + 1 + 8 + 2 + 16 + 4 + 32: each layer's reach at its step
    STRIDE = 8  # three 2x2 poolings

    def __init__(self, dropout=0.3, width=32):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 5, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU(inplace=True))
        self.stages = nn.ModuleList([_Residual(width, width), _Residual(width, 2 * width),
                                     _Residual(2 * width, 4 * width)])
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Conv2d(4 * width, 1, 1))

    def forward(self, x):
        if x.shape[-2:] != (self.WINDOW, self.WINDOW):
            raise ValueError(f"the compact classifier takes {self.WINDOW} px patches "
                             f"(got {tuple(x.shape[-2:])})")
        return self.dense(x).flatten()

    def dense(self, x, stride=STRIDE):
        """(B, 1, H, W) -> (B, 1, h, w) logits; output (i, j) is the logit of the WINDOW px
        patch whose corner is input pixel (stride * i, stride * j). stride: 8, 4, 2 or 1."""
        if stride not in (1, 2, 4, 8):
            raise ValueError(f"stride must be 1, 2, 4 or 8 (got {stride})")
        strided = len(self.stages) - (self.STRIDE // stride).bit_length() + 1
        dilation = 1
        x = _run(self.stem, x, dilation)
        for i, stage in enumerate(self.stages):
            if i < strided:
                x = F.max_pool2d(x, 2, stride=2, dilation=dilation)
            else:  # keep every position: later layers look ``dilation`` px apart instead
                x = F.max_pool2d(x, 2, stride=1, dilation=dilation)
                dilation *= 2
            x = stage(x, dilation)
        return _run(self.head, x, dilation)


@torch.no_grad()
def predict(model, patches, device="cpu", batch_size=256, logits=False):
    """Probabilities (or logits) for (N, H, W) numpy patches, in bounded batches."""
    model.eval()
    fast = inference_copy(model)
    out = []
    for i in range(0, len(patches), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(patches[i:i + batch_size, None])).to(device)
        with inference_autocast(device):
            z = fast(x.contiguous(memory_format=torch.channels_last)).float()
        out.append((z if logits else torch.sigmoid(z)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def dense_stride(step):
    """The compact network's one-pass output step for a wanted grid step (px): the largest
    of 8, 4, 2, 1 not above it."""
    return next(s for s in (8, 4, 2, 1) if s <= max(step, 1))


#: input pixels per dense pass (a tile of rows): bounds memory on 4k micrographs
DENSE_TILE_PIXELS = 1_500_000


@torch.no_grad()
def predict_dense(model, image, stride, device="cpu"):
    """Logits of the WINDOW px patch with its corner at every ``stride``-th pixel of a 2-D
    numpy image, (h, w) = ((H - WINDOW) // stride + 1, ...), in tiles of output rows."""
    model.eval()
    fast = inference_copy(model)
    window = model.WINDOW
    height, width = image.shape
    n_rows, n_cols = (height - window) // stride + 1, (width - window) // stride + 1
    rows_per_tile = max(1, (DENSE_TILE_PIXELS // width - window) // stride + 1)
    out = np.empty((n_rows, n_cols), dtype=np.float32)
    for r0 in range(0, n_rows, rows_per_tile):
        r1 = min(n_rows, r0 + rows_per_tile)
        tile = image[r0 * stride:(r1 - 1) * stride + window]
        x = torch.from_numpy(np.ascontiguousarray(tile[None, None], dtype=np.float32))
        with inference_autocast(device):
            z = fast.dense(x.to(device).contiguous(memory_format=torch.channels_last), stride)
        out[r0:r1] = z[0, 0, :, :n_cols].float().cpu().numpy()
    return out
