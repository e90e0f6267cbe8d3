"""BCE over labelled pixels only."""
import pytest
import torch
from torch.nn import functional as F

from cryopick_plugin.engine.errors import CryopickInputError
from cryopick_plugin.engine.losses import IgnoreMaskBCELoss
from cryopick_plugin.engine.masks import IGNORE


def _batch(seed=0, shape=(2, 1, 6, 7)):
    g = torch.Generator().manual_seed(seed)
    logits = (3 * torch.randn(shape, generator=g)).requires_grad_()
    target = torch.randint(-1, 2, shape, generator=g).to(torch.int8)  # -1, 0, 1
    return logits, target


@pytest.mark.parametrize("pos_weight", [None, 4.0])
def test_value_equals_torch_bce_on_valid_pixels(pos_weight):
    logits, target = _batch()
    valid = target != IGNORE
    assert 0 < valid.sum() < valid.numel()
    loss = IgnoreMaskBCELoss(pos_weight=pos_weight)(logits, target)
    pw = None if pos_weight is None else torch.tensor(pos_weight)
    ref = F.binary_cross_entropy_with_logits(logits[valid], target[valid].float(), pos_weight=pw)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    # and the gradient is that of the reference (mean over valid pixels, not all pixels)
    g, = torch.autograd.grad(loss, logits)
    g_ref, = torch.autograd.grad(ref, logits)
    torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-7)


def test_ignored_pixels_get_exactly_zero_gradient_and_do_not_matter():
    logits, target = _batch(1)
    valid = target != IGNORE
    loss = IgnoreMaskBCELoss()(logits, target)
    loss.backward()
    assert torch.all(logits.grad[~valid] == 0)
    assert torch.all(logits.grad[valid] != 0)
    # whatever the logits at ignored pixels, even infinite, the loss is the same and finite
    wild = logits.detach().clone()
    wild[~valid] = torch.tensor([float("inf"), -float("inf"), 1e30])[
        torch.arange(int((~valid).sum())) % 3]
    wild.requires_grad_()
    loss2 = IgnoreMaskBCELoss(pos_weight=3.0)(wild, target)
    loss2.backward()
    ref = IgnoreMaskBCELoss(pos_weight=3.0)(logits.detach(), target)
    assert torch.isfinite(loss2) and loss2.item() == pytest.approx(ref.item(), rel=1e-6)
    assert torch.all(wild.grad[~valid] == 0) and torch.isfinite(wild.grad).all()


def test_no_valid_pixel_gives_zero_loss_and_zero_gradient():
    logits, target = _batch(2)
    loss = IgnoreMaskBCELoss()(logits, torch.full_like(target, IGNORE))
    loss.backward()
    assert loss.item() == 0.0 and not torch.isnan(loss)
    assert torch.all(logits.grad == 0)


def test_pos_weight_scales_only_the_particle_terms():
    logits = torch.tensor([[-2.0, 1.0, 0.5, -1.0]])
    pos = torch.tensor([[1, 1, -1, -1]], dtype=torch.int8)
    neg = torch.tensor([[0, 0, -1, -1]], dtype=torch.int8)
    plain, weighted = IgnoreMaskBCELoss(), IgnoreMaskBCELoss(pos_weight=5.0)
    assert weighted(logits, pos).item() == pytest.approx(5 * plain(logits, pos).item(), rel=1e-6)
    assert weighted(logits, neg).item() == pytest.approx(plain(logits, neg).item(), rel=1e-6)


def test_float_targets_and_bad_arguments():
    logits, target = _batch(3)
    a = IgnoreMaskBCELoss()(logits, target)
    b = IgnoreMaskBCELoss()(logits, target.float())
    assert a.item() == pytest.approx(b.item(), rel=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        IgnoreMaskBCELoss()(logits, target[:, 0])
    with pytest.raises(CryopickInputError, match="pos_weight"):
        IgnoreMaskBCELoss(pos_weight=0)
