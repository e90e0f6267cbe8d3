"""Reading and writing micrographs: MRC through mrcfile, TIFF/PNG/JPEG through OpenCV.

Every reader returns a 2-D float32 array indexed [row, column] = [y, x], the frame in which
all cryopick coordinates are expressed. Every problem becomes a CryopickInputError that
names the file, so a user sees *which* micrograph is broken instead of a numpy traceback.
"""
import os
import tempfile

import numpy as np

from ..errors import CryopickInputError

MRC_EXTENSIONS = (".mrc", ".mrcs")
RASTER_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
IMAGE_EXTENSIONS = MRC_EXTENSIONS + RASTER_EXTENSIONS


def is_image_file(path):
    return path.lower().endswith(IMAGE_EXTENSIONS)


def list_images(folder, pattern=None):
    """Sorted image files of a folder (optionally filtered by a glob pattern).

    Raises when the folder does not exist or holds no supported image, so an import never
    silently produces an empty set.
    """
    import fnmatch

    if not os.path.isdir(folder):
        raise CryopickInputError(f"{folder}: image folder does not exist")
    names = sorted(n for n in os.listdir(folder)
                   if is_image_file(n) and os.path.isfile(os.path.join(folder, n)))
    if pattern:
        names = [n for n in names if fnmatch.fnmatch(n, pattern)]
    if not names:
        what = f" matching '{pattern}'" if pattern else ""
        raise CryopickInputError(
            f"{folder}: no images{what} (supported: {', '.join(IMAGE_EXTENSIONS)})")
    return [os.path.join(folder, n) for n in names]


def micrograph_name(path):
    """The name used to match coordinates to a micrograph: the file name without extension."""
    return os.path.splitext(os.path.basename(path))[0]


def _read_mrc(path):
    import mrcfile

    try:
        # permissive=False makes mrcfile raise on a truncated data block instead of warning
        with mrcfile.open(path, permissive=False) as mrc:
            data = np.asarray(mrc.data)
            voxel = float(mrc.voxel_size.x)
    except Exception as exc:  # mrcfile raises ValueError/OSError/... for broken files
        raise CryopickInputError(f"{path}: unreadable MRC file ({exc})") from None
    if data.ndim == 3:
        if data.shape[0] != 1:
            raise CryopickInputError(
                f"{path}: holds {data.shape[0]} sections; cryopick expects one micrograph "
                "per file (align movies first)")
        data = data[0]
    if data.ndim != 2:
        raise CryopickInputError(f"{path}: expected a 2-D micrograph, found shape {data.shape}")
    return data, voxel


def _read_raster(path):
    import cv2

    data = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if data is None:
        raise CryopickInputError(f"{path}: unreadable image file")
    if data.ndim == 3:
        # colour exports of greyscale micrographs: average the colour channels
        data = data[..., :3].astype(np.float32).mean(axis=2)
    return data, 0.0


def read_micrograph(path, return_pixel_size=False):
    """Read one micrograph as float32 [y, x]; reject empty, tiny or non-finite images."""
    if not os.path.isfile(path):
        raise CryopickInputError(f"{path}: file does not exist")
    if not is_image_file(path):
        raise CryopickInputError(
            f"{path}: unsupported image type (supported: {', '.join(IMAGE_EXTENSIONS)})")
    if path.lower().endswith(MRC_EXTENSIONS):
        data, pixel_size = _read_mrc(path)
    else:
        data, pixel_size = _read_raster(path)
    data = np.asarray(data, dtype=np.float32)
    if min(data.shape) < 2:
        raise CryopickInputError(f"{path}: image is too small ({data.shape[1]}x{data.shape[0]})")
    bad = ~np.isfinite(data)
    if bad.any():
        raise CryopickInputError(
            f"{path}: {int(bad.sum())} pixels are NaN or infinite; fix or drop this micrograph")
    return (data, pixel_size) if return_pixel_size else data


def micrograph_shape(path):
    """(height, width) without reading the whole data block when the file is an MRC."""
    if path.lower().endswith(MRC_EXTENSIONS):
        import mrcfile

        try:
            with mrcfile.mmap(path, mode="r", permissive=False) as mrc:
                return tuple(int(s) for s in mrc.data.shape[-2:])
        except Exception as exc:
            raise CryopickInputError(f"{path}: unreadable MRC file ({exc})") from None
    return read_micrograph(path).shape


def write_mrc(path, data, pixel_size):
    """Write a float32 MRC atomically: a crash never leaves a half-written micrograph."""
    import mrcfile

    if pixel_size <= 0:
        raise CryopickInputError(f"pixel size must be > 0 (got {pixel_size})")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".mrc", dir=folder)
    os.close(fd)
    try:
        with mrcfile.new(tmp, overwrite=True) as mrc:
            mrc.set_data(np.ascontiguousarray(data, dtype=np.float32))
            mrc.voxel_size = pixel_size
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
