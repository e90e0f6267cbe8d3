"""Conversions between Scipion sets and the engine's plain coordinate tables."""
import os

import numpy as np
import pyworkflow.object as pwobj
from pwem.objects import Coordinate

from .constants import SCORE_ATTR
from .engine.io.coordinates import stem
from .engine.picking.scale import box_size_for


def micrograph_key(mic):
    """The name that coordinates are matched on: micName (or file name) without extension."""
    return stem(mic.getMicName() or mic.getFileName())


def default_box_size(diameter_a, sampling_rate):
    """The engine's default box (box_size_for) for a diameter in Angstrom, in pixels."""
    return box_size_for(diameter_a / sampling_rate)


def fill_coordinates(coord_set, mics, tables, box_size):
    """Append the coordinates of ``{micrograph key: (N, 3) [x, y, score]}`` to coord_set,
    for the micrographs ``mics`` (a set or any iterable of micrographs).

    Scipion stores integer pixel positions (x = column, y = row). Scores (NaN when unknown)
    go to the extra column SCORE_ATTR so downstream protocols can filter on it.
    """
    coord_set.setBoxSize(int(box_size))
    n = 0
    for mic in (mics.iterItems() if hasattr(mics, "iterItems") else mics):
        table = tables.get(micrograph_key(mic))
        if table is None:
            continue
        for x, y, score in np.asarray(table).reshape(-1, 3):
            coord = Coordinate()
            # the score column must exist before the first append to become an sqlite column
            setattr(coord, SCORE_ATTR, pwobj.Float(float(score) if np.isfinite(score) else None))
            coord.setPosition(int(round(x)), int(round(y)))
            coord.setMicrograph(mic)
            coord_set.append(coord)
            n += 1
    return n


def coordinates_to_tables(coord_set, scale=1.0):
    """``{micrograph key: (N, 3) [x, y, score]}`` of a SetOfCoordinates (score NaN if absent).

    ``scale`` multiplies positions, to compare sets picked at different pixel sizes.
    """
    names = {mic.getObjId(): micrograph_key(mic) for mic in coord_set.getMicrographs().iterItems()}
    rows = {key: [] for key in names.values()}
    for coord in coord_set.iterItems():
        key = names.get(coord.getMicId()) or stem(coord.getMicName() or "")
        score = getattr(coord, SCORE_ATTR, None)
        value = score.get() if score is not None else None
        rows.setdefault(key, []).append(
            [coord.getX() * scale, coord.getY() * scale, np.nan if value is None else value])
    return {k: np.asarray(v, dtype=np.float64).reshape(-1, 3) for k, v in rows.items()}


def link_micrographs(mics, folder):
    """Symlink micrographs into folder as <key>.<ext> so the CLI sees Scipion's names.

    Returns {key: micrograph}. Links, not copies: 4k micrographs are large.
    """
    os.makedirs(folder, exist_ok=True)
    out = {}
    for mic in (mics.iterItems() if hasattr(mics, "iterItems") else mics):
        key = micrograph_key(mic)
        src = os.path.abspath(mic.getFileName())
        dst = os.path.join(folder, key + os.path.splitext(src)[1])
        if os.path.lexists(dst):
            os.remove(dst)
        os.symlink(src, dst)
        out[key] = mic.clone()
    return out
