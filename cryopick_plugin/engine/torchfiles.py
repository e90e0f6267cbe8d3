"""Writing torch files (models, checkpoints) so that a crash never leaves a half-written one."""
import os

# resume point of both trainers, written after every finished phase / epoch (Scipion's Continue)
LAST_CHECKPOINT = "last_checkpoint.pt"


def save_atomic(obj, path):
    """torch.save to a temporary file, then rename: readers see the old file or the new one."""
    import torch

    tmp = path + ".part"
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path
