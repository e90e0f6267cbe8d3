"""Pixel losses: the seed's BCE over labelled pixels (IgnoreMaskBCELoss) and the
positive-unlabelled risk (PULoss) that does not call unlabelled particles background."""
import torch
from torch import nn
from torch.nn import functional as F

from ..pu import unlabelled_risk
from .masks import BACKGROUND, IGNORE, PARTICLE, UNLABELLED


class IgnoreMaskBCELoss(nn.Module):
    """BCE with logits averaged over pixels whose target is not IGNORE (-1); UNLABELLED
    pixels count as background.

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
        # UNLABELLED pixels are background here, as in the seed (only PULoss tells them apart)
        t = (target == PARTICLE).to(logits.dtype)
        pw = None if self.pos_weight is None else torch.as_tensor(
            self.pos_weight, dtype=logits.dtype, device=logits.device)
        # zero the ignored logits first: 0 * inf at an ignored pixel would make the loss NaN
        safe = torch.where(valid, logits, torch.zeros_like(logits))
        loss = F.binary_cross_entropy_with_logits(safe, t, reduction="none", pos_weight=pw)
        return torch.where(valid, loss, torch.zeros_like(loss)).sum() / valid.sum()


class PULoss(nn.Module):
    """Mean pixel risk over PARTICLE, BACKGROUND and UNLABELLED pixels, with the non-negative
    PU estimator (nnPU, Kiryo et al. 2017) for the unlabelled ones; IGNORE counts nothing.

    ``prior``: the share of particle pixels among the UNLABELLED ones. Their risk is
    prior * R_P(particle) + max(0, R_U(background) - prior * R_P(background)), with R_P the
    mean loss over the labelled particle pixels: unlabelled particles are no longer trained as
    background, so the network can become confident on them (and self-training can take them
    as pseudo-particles). When the estimate of the background risk goes negative (the
    network overfits the few labels), its gradient is reversed, as nnPU does. Labelled and
    reliable-background pixels keep the plain BCE, so with no UNLABELLED pixel this equals
    IgnoreMaskBCELoss. Batches without a particle pixel use running means of R_P.
    """

    def __init__(self, prior):
        super().__init__()
        self.prior = float(prior)
        self.running = None  # (R_P as particle, R_P as background), detached

    def forward(self, logits, target):
        pos, neg, unl = target == PARTICLE, target == BACKGROUND, target == UNLABELLED
        n_valid = (pos | neg | unl).sum()
        if not n_valid:
            return logits.sum() * 0.0
        safe = torch.where(target != IGNORE, logits, torch.zeros_like(logits))
        as_particle, as_background = F.softplus(-safe), F.softplus(safe)
        total = as_particle[pos].sum() + as_background[neg].sum()
        n_unl = unl.sum()
        if n_unl:
            if pos.any():
                rp_pos, rp_neg = as_particle[pos].mean(), as_background[pos].mean()
                pair = (float(rp_pos.detach()), float(rp_neg.detach()))
                self.running = pair if self.running is None else tuple(
                    0.9 * r + 0.1 * p for r, p in zip(self.running, pair))
            elif self.running is not None:
                rp_pos, rp_neg = (torch.tensor(v, dtype=logits.dtype, device=logits.device)
                                  for v in self.running)
            else:  # nothing known of the particles yet: the background share of the mix
                rp_pos = rp_neg = None
            ru_neg = as_background[unl].mean()
            if rp_pos is None:
                risk = (1.0 - self.prior) * ru_neg
            else:
                risk = unlabelled_risk(rp_pos, rp_neg, ru_neg, self.prior)
            total = total + n_unl * risk
        return total / n_valid
