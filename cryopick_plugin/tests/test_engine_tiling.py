"""Tiled inference equals whole-image inference, for any image size, with bounded batches."""
import numpy as np
import pytest
import torch

from cryopick_plugin.engine.errors import CryopickInputError
from cryopick_plugin.engine.tiling import predict_probability_map
from cryopick_plugin.engine.unet import UNet

MARGIN = UNet.receptive_field_margin  # 107 px


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # tiny models: one thread is fastest and immune to a busy machine
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = UNet(base_features=4)
    # BN running statistics that amplify (variance ~0.1: ~3x per layer) like a trained model:
    # eval mode then differs clearly from train mode, and far context matters (freshly
    # initialised, the map is nearly constant and tiles with 16 px of context already agree
    # to 2e-7, which would test nothing)
    with torch.no_grad():
        for bn in (mod for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.05, 0.2)
    return m.eval()


def _whole_image(model, image, margin=MARGIN):
    """Reference: one pass over the whole image, reflect-padded by ``margin`` and up to a
    multiple of 16 at the bottom/right, exactly as the tiles are padded."""
    h, w = image.shape
    ph, pw = -(h + 2 * margin) % 16, -(w + 2 * margin) % 16
    padded = np.pad(image, ((margin, margin + ph), (margin, margin + pw)), mode="reflect")
    with torch.no_grad():
        logits = model.eval()(torch.from_numpy(padded)[None, None].float())[0, 0]
    return torch.sigmoid(logits).numpy()[margin:margin + h, margin:margin + w]


def test_tiles_equal_whole_image_inference(model):
    """200 x 300 (not multiples of 16), tiles of 320 px: 96-px steps, 3 x 4 tiles in batches
    of 5 (the last batch partial). With the default overlap (the receptive-field margin, 107
    px) every kept pixel has its whole receptive field inside its tile, and tiles start on
    the 16-px grid of the whole padded image, so only float32 summation order could differ
    (observed: 0 here); 1e-5 on probabilities leaves room for other CPU kernels, while
    missing context or a misaligned pooling grid show at 1e-3 and more (checked below)."""
    rng = np.random.default_rng(1)
    img = rng.normal(size=(200, 300)).astype(np.float32)
    ref = _whole_image(model, img)
    assert ref.std() > 0.05  # a map with structure, not a constant
    tiled = predict_probability_map(model, img, tile=320, batch_size=5)
    assert tiled.shape == (200, 300) and tiled.dtype == np.float32
    assert np.abs(tiled - ref).max() < 1e-5
    # too little context: differences at the seams (observed ~0.1 for 32 px) ...
    poor = predict_probability_map(model, img, tile=320, overlap=32, batch_size=5)
    assert np.abs(poor - _whole_image(model, img, margin=32)).max() > 1e-2
    # ... and a pooling grid shifted by 107 - 96 = 11 px changes the map too (~1e-2)
    assert np.abs(_whole_image(model, img, margin=96) - ref).max() > 1e-3


def test_small_image_single_pass_equals_reference(model):
    img = np.random.default_rng(2).normal(size=(20, 37)).astype(np.float32)
    out = predict_probability_map(model, img, tile=256)
    assert out.shape == (20, 37)
    # smaller than a tile: padded (reflection repeated as needed), not an error
    assert np.abs(out - _whole_image(model, img)).max() < 1e-5
    assert predict_probability_map(model, img[:1], tile=256).shape == (1, 37)


def test_batches_and_tiles_are_bounded(model):
    """Memory is bounded by batch_size x tile x tile: the model never sees more."""
    seen = []
    handle = model.register_forward_pre_hook(lambda mod, args: seen.append(tuple(args[0].shape)))
    try:
        img = np.random.default_rng(3).normal(size=(500, 410)).astype(np.float32)
        out = predict_probability_map(model, img, tile=256, overlap=32, batch_size=3)
    finally:
        handle.remove()
    assert out.shape == (500, 410)
    # step = 256 - 64 = 192: 3 x 3 tiles -> batches of 3, 3, 3
    assert seen == [(3, 1, 256, 256)] * 3


def test_eval_mode_is_used_and_restored(model):
    img = np.random.default_rng(4).normal(size=(40, 50)).astype(np.float32)
    expected = predict_probability_map(model, img, tile=256)
    model.train()
    try:
        got = predict_probability_map(model, img, tile=256)
        assert model.training  # restored
    finally:
        model.eval()
    np.testing.assert_array_equal(got, expected)  # BN running statistics, not batch ones
    # (batch statistics would have given something else)
    padded = np.pad(img, ((MARGIN, MARGIN + 2), (MARGIN, MARGIN + 8)), mode="reflect")
    model.train()
    try:
        with torch.no_grad():
            train_mode = torch.sigmoid(model(torch.from_numpy(padded)[None, None]))[0, 0]
    finally:
        model.eval()
    train_mode = train_mode.numpy()[MARGIN:MARGIN + 40, MARGIN:MARGIN + 50]
    assert np.abs(train_mode - expected).max() > 1e-2


def test_bad_parameters(model):
    img = np.zeros((50, 50), np.float32)
    with pytest.raises(CryopickInputError, match="multiple of 16"):
        predict_probability_map(model, img, tile=250)
    with pytest.raises(CryopickInputError, match="2 x overlap"):
        predict_probability_map(model, img, tile=128)  # default overlap 107 needs 230
    with pytest.raises(CryopickInputError, match="2-D"):
        predict_probability_map(model, np.zeros((2, 50, 50)), tile=256)
    # margin is accepted as the older name of overlap
    a = predict_probability_map(model, img + 1, tile=128, margin=32)
    b = predict_probability_map(model, img + 1, tile=128, overlap=32)
    np.testing.assert_array_equal(a, b)
