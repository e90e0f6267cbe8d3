"""The faster inference paths give the same maps as the plain ones (issue 12).

The U-Net is checked on a model trained for a few steps, so its map follows the image (an
untrained net's map is nearly flat, and a wrong tile margin would pass on it). Equality is
checked in float32 (the float32_inference fixture); bfloat16 inference has its own test.
"""
import numpy as np
import pytest
import torch

from cryopick_plugin.engine import device
from cryopick_plugin.engine.errors import CryopickInputError
from cryopick_plugin.engine.fixmatch.network import CompactNet, build_classifier, predict_dense
from cryopick_plugin.engine.unet.network import UNet
from cryopick_plugin.engine.device import inference_copy
from cryopick_plugin.engine.unet.tiling import (BORDER, MARGIN, TILE_BUDGET, _steps,
                                                max_tile_for, predict_probability_map)


def _blobs(h, w, n, rng):
    """A normalised image of dark particle-sized blobs and their disc mask."""
    img = rng.normal(size=(h, w)).astype(np.float32)
    mask = np.zeros((h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    for x, y in zip(rng.uniform(10, w - 10, n), rng.uniform(10, h - 10, n)):
        r2 = (xx - x) ** 2 + (yy - y) ** 2
        img -= 1.5 * np.exp(-r2 / (2 * 8.0 ** 2))
        mask[r2 < 100] = 1
    return (img - img.mean()) / img.std(), mask


@pytest.fixture(scope="module")
def trained_unet():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    img, mask = _blobs(512, 512, 80, rng)
    model = UNet(base_features=8)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    for _ in range(20):
        y, x = rng.integers(0, 512 - 80, 2)
        xb = torch.from_numpy(np.ascontiguousarray(img[None, None, y:y + 80, x:x + 80]))
        yb = torch.from_numpy(np.ascontiguousarray(mask[None, None, y:y + 80, x:x + 80]))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def _whole_image_map(model, img, border):
    """The reference: one pass of the plain model over the image, reflect-padded by
    ``border`` and then to a multiple of 16."""
    h, w = img.shape
    ph, pw = -(h + 2 * border) % 16, -(w + 2 * border) % 16
    padded = np.pad(img, ((border, border + ph), (border, border + pw)), mode="reflect")
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(padded[None, None])))
    return torch.sigmoid(logits)[0, 0, border:border + h, border:border + w].numpy()


@pytest.fixture(autouse=True)
def _float32(float32_inference):
    """Every test here compares float32 computations, unless it sets the precision itself."""


def test_unet_tiles_at_the_production_margin_equal_a_whole_image_pass(trained_unet):
    img, mask = _blobs(250, 370, 30, np.random.default_rng(1))
    # at the image's edges: the production border, the old 96 px of reflected context, none
    for border in sorted({BORDER, 96, 0}):
        ref = _whole_image_map(trained_unet, img, border)
        assert ref.std() > 0.05  # the map has structure: seams would show
        # the default tile (one tile here) and forced small tiles (2 x 3 tiles, whose inner
        # sides read MARGIN px of their neighbours and whose outer sides ``border``)
        for tile in (None, 2 * MARGIN + 128):
            out = predict_probability_map(trained_unet, img, tile=tile, border=border)
            assert out.shape == img.shape
            assert np.abs(out - ref).max() < 2e-5, (border, tile)
    # a margin too small for the receptive field shows at the seams: the check can fail
    ref = _whole_image_map(trained_unet, img, 48)
    short = predict_probability_map(trained_unet, img, tile=2 * 48 + 128, margin=48, border=48)
    assert np.abs(short - ref).max() > 2e-4
    # and so does the border: it changes the map near the image's edges only
    none, wide = (predict_probability_map(trained_unet, img, border=b) for b in (0, 96))
    inner = (slice(112, -112), slice(112, -112))  # beyond the receptive field of an edge
    assert np.abs(none - wide).max() > 1e-3
    assert np.abs(none - wide)[inner].max() < 2e-5


def test_folded_batch_norm_and_channels_last_give_the_same_outputs(trained_unet):
    x = torch.from_numpy(_blobs(64, 80, 4, np.random.default_rng(2))[0][None, None])
    fast = inference_copy(trained_unet)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    with torch.no_grad():
        ref = trained_unet(x)
        assert torch.allclose(fast(x.contiguous(memory_format=torch.channels_last)), ref,
                              atol=1e-4, rtol=1e-4)
        # the copy leaves the original (still used for training) untouched
        assert any(isinstance(m, torch.nn.BatchNorm2d) for m in trained_unet.modules())
    torch.manual_seed(0)
    classifier = build_classifier().eval()
    for m in classifier.modules():  # batch-norm statistics as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    fast = inference_copy(classifier)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    patches = torch.randn(3, 1, 64, 64)
    with torch.no_grad():
        ref = classifier(patches)
        assert ref.std() > 0.01
        assert torch.allclose(fast(patches.contiguous(memory_format=torch.channels_last)), ref,
                              atol=1e-4, rtol=1e-4)


def test_tiles_are_few_equal_and_within_the_memory_budget():
    for base in (16, 32, 64):
        tile = max_tile_for(base)
        assert tile % 16 == 0 and tile ** 2 * base <= TILE_BUDGET
    tile = max_tile_for(16)
    # a 1k micrograph binned to 914 px: one tile (the old fixed 512 px tiles needed nine)
    assert _steps(914, MARGIN, tile, 16) == (928, 1)
    # with less context at the image's edges the tiles may be larger: a 1200 px image fits
    # one tile without a border, needs two with 96 px of it
    assert _steps(1200, MARGIN, tile, 16, border=0) == (1200, 1)
    assert _steps(1200, MARGIN, tile, 16, border=96)[1] == 2
    # a 4k micrograph barely binned (3640 px): four tiles a side, each within the budget
    step, count = _steps(3640, MARGIN, tile, 16)
    assert count == 4 and step * count >= 3640 and step + 2 * MARGIN <= tile
    assert (step - 16) * count < 3640  # no smaller step would do: the tiles are equal


def test_the_evaluation_copy_is_remade_when_the_weights_change():
    torch.manual_seed(0)
    model = UNet(base_features=4)
    x = torch.randn(1, 1, 32, 32)
    first = inference_copy(model)
    assert inference_copy(model) is first  # reused while the weights stay
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    model(x).mean().backward()
    opt.step()  # in place, as training does between rounds of picking
    model.eval()
    fresh = inference_copy(model)
    assert fresh is not first
    with torch.no_grad():
        assert torch.allclose(fresh(x), model(x), atol=1e-4, rtol=1e-4)
        assert not torch.allclose(first(x), model(x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("margin", [96, 48, 30, 16, (96, 0, 48, 16), (0, 96, 96, 0)])
def test_decoder_skipping_the_margin_gives_the_centre_of_a_full_pass(trained_unet, margin):
    img, _ = _blobs(224, 288, 20, np.random.default_rng(5))
    x = torch.from_numpy(img[None, None])
    top, bottom, left, right = (margin,) * 4 if isinstance(margin, int) else margin
    with torch.no_grad():
        full = trained_unet(x)[..., top:224 - bottom, left:288 - right]
        centre = trained_unet(x, margin)
    assert centre.shape == full.shape
    assert full.std() > 0.5  # logits with structure: a misaligned crop would show
    assert torch.allclose(centre, full, atol=1e-4)


def test_decoder_crops_leave_room_for_the_padded_convolutions():
    from cryopick_plugin.engine.unet.network import _decoder_crops

    assert _decoder_crops(96, 4) == [8, 20, 44, 92]  # 92 + 2 <= 96
    assert _decoder_crops(30, 4) == [0, 4, 12, 28]
    assert _decoder_crops(16, 4) == [0, 0, 0, 0]  # too little margin: the whole decoder
    for margin in range(0, 200, 8):
        crops = _decoder_crops(margin, 4)
        assert all(b >= 2 * (a + 2) for a, b in zip(crops, crops[1:])) or not any(crops)
        assert crops[-1] + 2 <= margin or not any(crops)


def test_bfloat16_inference_is_close_to_float32_and_really_used(trained_unet):
    img, _ = _blobs(250, 370, 30, np.random.default_rng(3))
    exact = predict_probability_map(trained_unet, img)
    torch.manual_seed(0)
    classifier = CompactNet().eval()
    dense32 = predict_dense(classifier, img, 4)
    device.set_precision("bfloat16")
    half = predict_probability_map(trained_unet, img)
    dense16 = predict_dense(classifier, img, 4)
    assert half.dtype == np.float32 and dense16.dtype == np.float32
    # rounded (so really computed in bfloat16), but only at the level of its 8-bit mantissa
    assert np.abs(half - exact).max() > 1e-5
    assert np.abs(half - exact).max() < 0.02 and np.abs(half - exact).mean() < 2e-3
    assert np.abs(dense16 - dense32).max() > 1e-5
    assert np.abs(dense16 - dense32).max() < 0.05 * (np.abs(dense32).max() + 1e-3)


def test_auto_precision_is_bfloat16_only_on_cpus_that_have_it(monkeypatch):
    for native in (True, False):
        monkeypatch.setattr(device, "_native_cpu_bfloat16", lambda: native)
        device.set_precision("auto")
        assert device.inference_dtype("cpu") == (torch.bfloat16 if native else None)
        assert device.inference_dtype("cuda:0") is None  # GPUs: float32 unless asked
        device.set_precision("bfloat16")
        assert device.inference_dtype("cpu") == torch.bfloat16
        device.set_precision("float32")
        assert device.inference_dtype("cpu") is None
    with pytest.raises(CryopickInputError, match="half"):
        device.set_precision("half")


@pytest.fixture
def training_precision():
    """Restores the training precision a test changes (it is process-wide)."""
    before = device._training_precision
    yield device.set_training_precision
    device.set_training_precision(before)


def test_bfloat16_training_runs_its_forward_passes_in_bfloat16(training_precision):
    torch.manual_seed(0)
    net = UNet(base_features=4)
    x = torch.randn(2, 1, 32, 32)
    with device.training_autocast("cpu"):  # the default: float32
        assert net(x).dtype == torch.float32
    training_precision("bfloat16")
    with device.training_autocast("cpu"):
        assert net(x).dtype == torch.bfloat16
    with pytest.raises(CryopickInputError, match="half"):
        training_precision("half")


def test_train_precision_flag_changes_training_and_keeps_it_finite(tmp_path, training_precision,
                                                                   capsys):
    """train-unet --train-precision bfloat16 trains (finite losses, a model that picks) and
    really trains differently from float32; a command without the flag is float32 again."""
    from cryopick_plugin.cli import main
    from cryopick_plugin.engine.demo_data import make_demo_dataset
    from cryopick_plugin.engine.io.files import read_torch_file

    make_demo_dataset(str(tmp_path / "d"), n_micrographs=2, size=(128, 128),
                      particle_diameter_a=60, pixel_size=2.0, particles_per_micrograph=6)
    base = ["train-unet", "--image-dir", str(tmp_path / "d" / "micrographs"), "--coords-file",
            str(tmp_path / "d" / "labels" / "coordinates.json"), "--particle-radius", "15",
            "--initial-epochs", "2", "--self-training-iterations", "0", "--base-features",
            "4", "--crop-size", "64", "--crops-per-image", "2", "--seed", "0"]
    weights = {}
    for precision in ("float32", "bfloat16"):
        out = tmp_path / precision
        assert main(base + ["--output-dir", str(out), "--train-precision", precision]) == 0
        losses = [float(line.split()[-1]) for line in capsys.readouterr().out.splitlines()
                  if line.startswith("Epoch ")]
        assert len(losses) == 2 and np.isfinite(losses).all(), precision
        assert device._training_precision == precision
        weights[precision] = read_torch_file(str(out / "final_model.pt"))["state_dict"]
    assert any(not torch.equal(weights["float32"][k], weights["bfloat16"][k])
               for k in weights["float32"])
    assert main(base + ["--output-dir", str(tmp_path / "again")]) == 0
    assert device._training_precision == "float32"
    assert main(base + ["--output-dir", str(tmp_path / "bad"), "--train-precision",
                        "half"]) == 2
    assert "half" in capsys.readouterr().err
