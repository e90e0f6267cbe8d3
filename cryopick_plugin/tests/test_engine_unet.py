"""U-Net architecture: size, shapes, logits, input checks, receptive field."""
import numpy as np
import pytest
import torch
from torch import nn

from cryopick_plugin.engine.errors import CryopickInputError
from cryopick_plugin.engine.unet import UNet, count_parameters


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # tiny models: one thread is fastest, and immune to a busy machine (2 threads spinning
    # against other processes made each forward pass ~100x slower)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_base64_has_about_31M_parameters():
    n = count_parameters(UNet(in_channels=1, out_channels=1, base_features=64))
    assert n == 31_036_481  # the reference's ~31 M (transposed-conv upsampling)
    assert 30e6 < n < 32e6


def test_parameters_scale_with_base_features_and_trainable_only():
    # conv weights dominate: doubling the width multiplies the count by about 4
    n4, n8 = count_parameters(UNet(base_features=4)), count_parameters(UNet(base_features=8))
    assert 3.8 < n8 / n4 < 4.1
    model = UNet(base_features=4)
    model.head.weight.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == n4 - model.head.weight.numel()


def test_channel_widths_follow_the_spec():
    b = 4
    model = UNet(base_features=b)
    convs3 = [m.out_channels for m in model.modules()
              if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    # two convs per level: encoder b..8b, bottleneck 16b, decoder 8b..b
    expected = [b, 2 * b, 4 * b, 8 * b, 16 * b, 8 * b, 4 * b, 2 * b, b]
    assert convs3 == [w for w in expected for _ in range(2)]
    assert [m.out_channels for m in model.up] == [8 * b, 4 * b, 2 * b, b]
    assert all(isinstance(m, nn.ConvTranspose2d) for m in model.up)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 18
    assert model.head.kernel_size == (1, 1) and model.head.out_channels == 1


def test_output_shape_and_logits_on_rectangular_input():
    torch.manual_seed(0)
    model = UNet(base_features=4).eval()
    x = torch.randn(2, 1, 48, 80)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 1, 48, 80)
    # logits, not probabilities: the head's bias shifts the output one-for-one (a sigmoid
    # inside would squash the shift and keep the output within (0, 1))
    with torch.no_grad():
        model.head.bias += 5.0
        shifted = model(x)
        model.head.bias -= 5.0
    torch.testing.assert_close(shifted - y, torch.full_like(y, 5.0), atol=1e-4, rtol=0)
    # batch items are independent in eval mode (BN uses running statistics)
    with torch.no_grad():
        y1 = model(x[1:])
    torch.testing.assert_close(y[1:], y1, atol=1e-5, rtol=1e-5)


def test_size_contract():
    assert UNet.min_size == 16 and UNet.required_multiple() == 16 and UNet.multiple == 16
    model = UNet(base_features=4)
    with pytest.raises(CryopickInputError, match="multiples of 16"):
        model(torch.zeros(1, 1, 40, 48))
    with pytest.raises(CryopickInputError, match="base_features"):
        UNet(base_features=0)
    # the smallest valid input works (1x1 at the bottleneck)
    assert model.eval()(torch.zeros(1, 1, 16, 16)).shape == (1, 1, 16, 16)


def test_receptive_field_margin_is_exact():
    """Output pixels depend on inputs at most ``receptive_field_margin`` px away, and that
    bound is reached: tiling relies on it to equal whole-image inference."""
    torch.manual_seed(0)
    model = UNet(base_features=4).eval()
    # the reach along rows is what is measured, so a narrow strip will do; eval-mode samples
    # are independent, so samples 0-1 probe row 130 and 2-3 row 141: pooling phases 2 and 13
    # (mod 16), the ones reaching furthest after / before. Two samples each so that no path
    # is dead (ReLU = 0) for all of them.
    x = torch.randn(4, 1, 256, 32, requires_grad=True)
    rows_probed = (130, 130, 141, 141)
    out = model(x)
    sum(out[i, 0, r, 16] for i, r in enumerate(rows_probed)).backward()
    reach_before = reach_after = 0
    for i, r in enumerate(rows_probed):
        rows = np.nonzero(x.grad[i, 0].abs().sum(1).numpy())[0]
        if not rows.size:  # that sample's output pixel is dead (all ReLUs 0)
            continue
        reach_before = max(reach_before, r - rows.min())
        reach_after = max(reach_after, rows.max() - r)
    assert reach_before == reach_after == UNet.receptive_field_margin == 107
