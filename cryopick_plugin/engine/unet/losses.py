"""Binary cross-entropy over labelled pixels only (the seed's IgnoreMaskBCELoss)."""
import torch
from torch import nn
from torch.nn import functional as F

from .masks import IGNORE


class IgnoreMaskBCELoss(nn.Module):
    """BCE with logits averaged over pixels whose target is not IGNORE (-1).

    ``pos_weight`` > 1 counts particle pixels more, for when they are a small minority. With
    no valid pixel the loss is 0 (and its gradient 0), never NaN.
    """

    def __init__(self, pos_weight=None):
        super().__init__()
        self.pos_weight = pos_weight

    def forward(self, logits, target):
        valid = target != IGNORE
        if not valid.any():
            return logits.sum() * 0.0
        t = target.clamp(min=0).to(logits.dtype)
        pw = None if self.pos_weight is None else torch.as_tensor(
            self.pos_weight, dtype=logits.dtype, device=logits.device)
        # zero the ignored logits first: 0 * inf at an ignored pixel would make the loss NaN
        safe = torch.where(valid, logits, torch.zeros_like(logits))
        loss = F.binary_cross_entropy_with_logits(safe, t, reduction="none", pos_weight=pw)
        return torch.where(valid, loss, torch.zeros_like(loss)).sum() / valid.sum()
