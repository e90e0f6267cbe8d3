"""Where torch runs: the device from a user string, the CPU thread count, the arithmetic of
inference, and a network's faster evaluation copy."""
import contextlib
import copy
import functools
import itertools
import weakref

import torch

from .errors import CryopickInputError


def resolve_device(device):
    """torch device from a user string; a clear error when CUDA is asked for but absent."""
    device = (device or "cpu").strip()
    if device == "auto" or device.startswith("auto:"):
        # the GPU if one is visible, else the CPU (Scipion's "Use GPU" on a CPU-only host)
        gpu = device.partition(":")[2].split(",")[0].strip() or "0"
        if torch.cuda.is_available():
            return f"cuda:{gpu}"
        print("No CUDA GPU visible: running on the CPU", flush=True)
        return "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise CryopickInputError(
            f"device '{device}' requested but no CUDA GPU is available; use --device cpu")
    try:
        torch.device(device)
    except (RuntimeError, ValueError):
        raise CryopickInputError(f"unknown device '{device}' (use cpu, cuda:0, auto)") from None
    return device


def set_threads(n):
    """CPU threads for torch (0 or None: torch's default)."""
    if n:
        torch.set_num_threads(n)


#: inference arithmetic: "auto" (bfloat16 where the CPU has it natively, else float32),
#: "float32", "bfloat16". Training has its own setting (set_training_precision).
PRECISIONS = ("auto", "float32", "bfloat16")
_precision = "auto"

#: training arithmetic: "float32" (the default) or "bfloat16": the forward passes of training
#: run under bfloat16 autocast, while weights, gradients, optimiser and losses stay float32.
#: A U-Net training step (base 16, batch 8, 128 px crops, 1 thread) took 1.05 s against 1.89 s
#: in float32 in a hand timing on this 2-core EPYC under load; not the default: on the
#: benchmark matrix the ensemble lost 0.045 AP on apoferritin at 20% labels (docs/benchmarks.md)
TRAINING_PRECISIONS = ("float32", "bfloat16")
_training_precision = "float32"


def set_precision(name):
    """The arithmetic of every later inference pass (one of PRECISIONS)."""
    global _precision
    if name not in PRECISIONS:
        raise CryopickInputError(f"unknown precision '{name}' (use {', '.join(PRECISIONS)})")
    _precision = name


def set_training_precision(name):
    """The arithmetic of every later training pass (one of TRAINING_PRECISIONS)."""
    global _training_precision
    if name not in TRAINING_PRECISIONS:
        raise CryopickInputError(f"unknown training precision '{name}' (use "
                                 f"{', '.join(TRAINING_PRECISIONS)})")
    _training_precision = name


def training_autocast(device):
    """The context a training forward pass runs in; the callers compute losses on
    ``.float()`` outputs."""
    if _training_precision == "bfloat16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def training_layout(model, device):
    """A new network on ``device``, laid out for training there: on the CPU its weights,
    and so its activations, are channels-last (a U-Net training step, base 16, batch 8,
    128 px crops, 1 thread: 0.54 s against 0.65 s; the compact classifier's 0.55 against
    0.71; the same results to float rounding)."""
    model = model.to(device)
    if torch.device(device).type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    return model


@functools.lru_cache(maxsize=None)
def _native_cpu_bfloat16():
    """Whether this CPU does bfloat16 arithmetic in hardware (AVX-512 BF16 or AMX): there
    oneDNN's bfloat16 convolutions are fast; elsewhere they are emulated and slower."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((line for line in fh if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def inference_dtype(device):
    """torch.bfloat16 when inference on ``device`` runs in bfloat16, else None (float32).
    "auto" picks bfloat16 on CPUs with native support only (a base-16 U-Net pass over a
    912 px image: 0.26 s against 0.63 s in float32 on 2 EPYC cores, a hand timing; picks:
    docs/results/inference_check_precision_2026-12-03.json); GPUs stay float32."""
    kind = torch.device(device).type
    if _precision == "bfloat16" or (_precision == "auto" and kind == "cpu"
                                    and _native_cpu_bfloat16()):
        return torch.bfloat16
    return None


def inference_autocast(device):
    """The context an inference pass runs in (see inference_dtype); outputs are cast back
    with ``.float()`` by the callers."""
    dtype = inference_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


#: the last evaluation copy of each network, with the state it was made from
_COPIES = weakref.WeakKeyDictionary()


def _weights_state(model):
    """Changes whenever a weight or statistic is changed in place or replaced (an optimiser
    step, load_state_dict, batch-norm statistics in training)."""
    return tuple((t.data_ptr(), t._version)
                 for t in itertools.chain(model.parameters(), model.buffers()))


def inference_copy(model):
    """An evaluation copy of a network, faster on the CPU, same outputs to float rounding:
    each convolution absorbs the batch norm after it, and activations are channels-last
    (measured 1.5x on 2 cores for the U-Net, 1.2x for the ResNet18 classifier). Made once
    per state of the weights (making one took 0.7 s for a base-16 U-Net on the loaded test
    machine): picking a stream of micrographs reuses it, while training, which changes the
    weights, gets a fresh one."""
    state = _weights_state(model)
    cached = _COPIES.get(model)
    if cached is not None and cached[0] == state:
        return cached[1]
    fast = _folded_copy(model)
    _COPIES[model] = (state, fast)
    return fast


def _folded_copy(model):
    fast = copy.deepcopy(model).eval()
    for module in list(fast.modules()):
        if isinstance(module, torch.nn.Sequential):  # conv, BN, ... (the U-Net's blocks)
            layers = list(module)
            for i in range(len(layers) - 1):
                if _foldable(layers[i], layers[i + 1]):
                    module[i] = _fold_batch_norm(layers[i], layers[i + 1])
                    module[i + 1] = torch.nn.Identity()
        # torchvision's ResNet and its blocks apply bnK right after convK
        for conv, bn in (("conv1", "bn1"), ("conv2", "bn2")):
            if _foldable(getattr(module, conv, None), getattr(module, bn, None)):
                setattr(module, conv, _fold_batch_norm(getattr(module, conv), getattr(module, bn)))
                setattr(module, bn, torch.nn.Identity())
    return fast.to(memory_format=torch.channels_last)


def _foldable(conv, bn):
    return isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d)


@torch.no_grad()
def _fold_batch_norm(conv, bn):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    fused = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,
                            conv.stride, conv.padding, conv.dilation, conv.groups, bias=True)
    fused.weight.copy_(conv.weight * scale[:, None, None, None])
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
    return fused.to(conv.weight.device)
