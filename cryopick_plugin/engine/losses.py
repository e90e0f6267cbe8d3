"""Binary cross-entropy over labelled pixels only (the seed's IgnoreMaskBCELoss)."""
import torch
from torch import nn
from torch.nn import functional as F

from .errors import CryopickInputError
from .masks import IGNORE


class IgnoreMaskBCELoss(nn.Module):
    """BCE with logits averaged over the pixels whose target is not IGNORE (-1).

    ``target`` holds 1 (particle), 0 (background) or -1 (ignored), same shape as ``logits``,
    any dtype. ``pos_weight`` > 1 counts particle pixels more, for when they are a small
    minority (same meaning as torch's ``BCEWithLogitsLoss(pos_weight=...)``; the mean is still
    over the number of valid pixels). Ignored pixels contribute exactly zero value and zero
    gradient, whatever their logits (even infinite); with no valid pixel the loss is 0 with a
    zero gradient, never NaN.
    """

    def __init__(self, pos_weight=None):
        super().__init__()
        if pos_weight is not None and not float(pos_weight) > 0:
            raise CryopickInputError(f"pos_weight must be > 0 (got {pos_weight})")
        self.pos_weight = None if pos_weight is None else float(pos_weight)

    def forward(self, logits, target):
        if logits.shape != target.shape:
            raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} "
                             "must have the same shape")
        valid = target != IGNORE
        t = torch.where(valid, target, torch.zeros_like(target)).to(logits.dtype)
        # ignored logits are replaced by 0 *before* the loss: their (masked) terms are then
        # finite, so 0 * term cannot become NaN when a logit is inf
        x = torch.where(valid, logits, torch.zeros_like(logits))
        pw = None if self.pos_weight is None else torch.tensor(
            self.pos_weight, dtype=logits.dtype, device=logits.device)
        per_pixel = F.binary_cross_entropy_with_logits(x, t, reduction="none", pos_weight=pw)
        per_pixel = torch.where(valid, per_pixel, torch.zeros_like(per_pixel))
        # clamp: no valid pixel gives 0 / 1 = 0 (gradient 0), not 0 / 0
        return per_pixel.sum() / valid.sum().clamp(min=1).to(logits.dtype)
