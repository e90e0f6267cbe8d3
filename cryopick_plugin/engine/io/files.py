"""The files a run writes: their names, one atomic writer, and safe reading of torch files.

Every file is written to ``<name>.part`` and renamed, so a reader (or a resumed run) sees the
old file or the new one, never half of one. Torch files are read with ``weights_only=True``:
a model file is data shared between users, and unpickling arbitrary objects would let it run
code. Ours hold only tensors, numbers, strings, lists and dicts.
"""
import json
import os

from ..errors import CryopickInputError

# run-folder names, shared by the trainers, the protocols, the CLI and the benchmarks
LAST_CHECKPOINT = "last_checkpoint.pt"  # resume point of both trainers (Scipion's Continue)
# U-Net self-training (seed 000)
UNET_BASELINE = "baseline_model.pt"
UNET_FINAL = "final_model.pt"
UNET_SUMMARY = "training_summary.json"
# Selective FixMatch (seed 001)
FIXMATCH_BEST = "best_model.pt"
FIXMATCH_BEST_EMA = "best_model_ema.pt"  # the EMA teacher: the model to pick with
FIXMATCH_RESULTS = "results.json"
FIXMATCH_CONFIG = "config.yaml"


def unet_iteration_model(iteration):
    return f"model_iteration_{iteration}.pt"


def unet_pseudo_positives(iteration):
    """Centres of a self-training round's pseudo-particles (seed-format JSON, micrograph px)."""
    return f"pseudo_positives_iteration_{iteration}.json"


def _part(path):
    return path + ".part"


def write_atomic(path, write):
    """Call ``write(tmp_path)``, then rename the result to ``path``; never leave a .part."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = _part(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_text_atomic(path, text):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
    return write_atomic(path, write)


def write_json_atomic(path, data):
    return write_text_atomic(path, json.dumps(data, indent=1, default=float))


def save_torch_atomic(obj, path):
    import torch

    return write_atomic(path, lambda tmp: torch.save(obj, tmp))


def read_torch_file(path, device="cpu", what="model file"):
    """A torch file as a dict, loaded without running code from it."""
    import pickle

    import torch

    if not os.path.isfile(path):
        raise CryopickInputError(f"{path}: {what} does not exist")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = [ln.strip() for ln in str(exc).splitlines() if "GLOBAL" in ln]
        if found:  # a pickled object: loading it could run code
            raise CryopickInputError(
                f"{path}: refused: the file holds Python objects other than tensors, numbers "
                f"and strings, which could run code when loaded ({found[0]})") from None
        raise CryopickInputError(f"{path}: not a readable {what} (not a torch file)") from None
    except Exception as exc:
        raise CryopickInputError(f"{path}: not a readable {what} ({exc})") from None
    if not isinstance(state, dict):
        raise CryopickInputError(f"{path}: not a cryopick {what}")
    return state


def read_model_state(path, kind, what, device="cpu"):
    """A model file's contents, checked to be of ``kind`` (``what`` names it in the error)."""
    state = read_torch_file(path, device)
    if state.get("kind") != kind:
        raise CryopickInputError(f"{path}: not a cryopick {what}")
    return state


def changed_settings(ours, theirs, ignore=()):
    """Names of the settings that differ between two flat or nested config dicts."""
    def flat(d, prefix=""):
        out = {}
        for k, v in (d or {}).items():
            if isinstance(v, dict):
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
        return out

    a, b = flat(ours), flat(theirs)
    return sorted(k for k in set(a) | set(b)
                  if k not in ignore and k.split(".")[-1] not in ignore and a.get(k) != b.get(k))


def refuse_changed_resume(path, changed):
    if changed:
        raise CryopickInputError(
            f"cannot resume from {path}: it was trained with other settings ({', '.join(changed)})"
            "; use another output folder or the same settings")


def prepare_output_dir(folder):
    """Create ``folder``, check it is writable, drop .part files a killed run left behind."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise CryopickInputError(f"{folder}: cannot create the output folder ({exc.strerror})") \
            from None
    if not os.path.isdir(folder):
        raise CryopickInputError(f"{folder}: not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CryopickInputError(f"{folder}: output folder is not writable")
    for name in os.listdir(folder):
        if name.endswith(".part"):
            os.remove(os.path.join(folder, name))
    return folder
