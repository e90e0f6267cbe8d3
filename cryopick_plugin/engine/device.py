"""Where torch runs: the device from a user string, and the CPU thread count."""
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
