"""Weak and strong views of patch batches (the seed's two augmentation strengths).

Operates on (B, 1, H, W) float tensors of normalised patches, per sample, with a torch
Generator so training is reproducible. Weak: flips, +-10 degree rotation, noise sigma
0.01-0.05. Strong: flips, 90/180/270 degree rotations, +-30% contrast and brightness,
Gaussian noise sigma 0.1-0.2 or signal-dependent (Poisson-like) noise, light blur, random
erasing of a small rectangle.
"""
import math

import torch
from torch.nn import functional as F


def _uniform(gen, n, low, high, device):
    return torch.rand(n, generator=gen).to(device) * (high - low) + low


def _flips(x, gen):
    n = len(x)
    h = (torch.rand(n, generator=gen) < 0.5).to(x.device).view(-1, 1, 1, 1)
    v = (torch.rand(n, generator=gen) < 0.5).to(x.device).view(-1, 1, 1, 1)
    x = torch.where(h, x.flip(3), x)
    return torch.where(v, x.flip(2), x)


def _rotate(x, degrees):
    """Rotate each sample by its angle (degrees) about the centre, reflecting at borders."""
    a = degrees * math.pi / 180.0
    cos, sin = torch.cos(a), torch.sin(a)
    zero = torch.zeros_like(a)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def weak(x, gen):
    n = len(x)
    x = _flips(x, gen)
    x = _rotate(x, _uniform(gen, n, -10.0, 10.0, x.device).to(x.dtype))
    sigma = _uniform(gen, n, 0.01, 0.05, x.device).view(-1, 1, 1, 1)
    return x + sigma * torch.randn(x.shape, generator=gen).to(x.device)


def _gaussian_blur(x, sigma):
    radius = max(1, int(math.ceil(2 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), k.view(1, 1, -1, 1))


def strong(x, gen):
    n, _, h, w = x.shape
    dev = x.device
    x = _flips(x, gen)
    k = torch.randint(1, 4, (n,), generator=gen)
    x = torch.stack([torch.rot90(x[i], int(k[i]), dims=(1, 2)) for i in range(n)])
    contrast = _uniform(gen, n, 0.7, 1.3, dev).view(-1, 1, 1, 1)
    brightness = _uniform(gen, n, -0.3, 0.3, dev).view(-1, 1, 1, 1)
    x = x * contrast + brightness
    # light blur on half of the samples (before the noise, as a defocus change would be)
    blur = (torch.rand(n, generator=gen) < 0.5).to(dev).view(-1, 1, 1, 1)
    x = torch.where(blur, _gaussian_blur(x, 0.8), x)
    sigma = _uniform(gen, n, 0.1, 0.2, dev).view(-1, 1, 1, 1)
    noise = torch.randn(x.shape, generator=gen).to(dev)
    # Poisson-like on half: variance grows with the (shifted) intensity
    poisson = (torch.rand(n, generator=gen) < 0.5).to(dev).view(-1, 1, 1, 1)
    scale = torch.where(poisson, torch.sqrt((x - x.amin((2, 3), keepdim=True)).clamp(min=0) + 1e-3)
                        / 1.5, torch.ones_like(x))
    x = x + sigma * scale * noise
    # random erasing: one rectangle of 2-6% of the patch on half of the samples
    erase = torch.rand(n, generator=gen) < 0.5
    for i in torch.nonzero(erase).flatten().tolist():
        area = float(_uniform(gen, 1, 0.02, 0.06, "cpu")) * h * w
        eh = max(1, min(h, int(round(math.sqrt(area)))))
        ew = max(1, min(w, int(round(area / eh))))
        y0 = int(torch.randint(0, h - eh + 1, (1,), generator=gen))
        x0 = int(torch.randint(0, w - ew + 1, (1,), generator=gen))
        x[i, :, y0:y0 + eh, x0:x0 + ew] = 0.0
    return x
