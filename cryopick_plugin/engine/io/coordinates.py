"""Particle coordinate files: reading, format detection, matching to micrographs, writing.

In memory a coordinate table is a dict ``{micrograph name: array (N, 3)}`` with columns
x (column), y (row), score (NaN when the file has none), in pixels of the micrograph the
file was written for. The micrograph name is the file name without a known extension, so
``mic_001.mrc``, ``mic_001.star`` and the JSON key ``"mic_001.png"`` all mean ``mic_001``;
other dots belong to the name (``FoilHole_1.5_Data`` stays whole).

Formats (``FORMATS``):
  json  the seed format ``{"image1.png": [[x, y], ...]}`` (optionally ``[x, y, score]``)
  csv   CryoPPP ``X-Coordinate,Y-Coordinate,Diameter`` per micrograph (optional score column)
  star  RELION: one file with ``_rlnMicrographName`` or one file per micrograph; names with
        spaces quoted, no score written as -999 (RELION's manual picks), micrographs without
        coordinates in a second block of names
  box   EMAN ``.box``: lower-left corner x, y, box width, box height (centre = corner + box/2);
        written without scores (the format has no score column; a 5th column is read as one)
  txt   plain ``x y [score]`` per line, one file per micrograph
"""
import csv
import io
import json
import os
import re

import numpy as np

from ..errors import CryopickInputError
from .files import write_text_atomic
from .images import IMAGE_EXTENSIONS

FORMATS = ("json", "csv", "star", "box", "txt")
# STAR block listing the micrographs that have no coordinates (RELION reads the first block)
_EMPTY_BLOCK = "micrographs_without_coordinates"
_EXTENSIONS = {".json": "json", ".csv": "csv", ".star": "star", ".box": "box",
               ".txt": "txt", ".coords": "txt", ".xy": "txt"}


# what stem() strips: file types of micrographs and coordinate files. Any other dot is part
# of the name (EPU writes FoilHole_1.5_Data_2024.01.02; splitext would cut it at ".02")
_NAME_EXTENSIONS = frozenset(list(IMAGE_EXTENSIONS) + list(_EXTENSIONS) + [
    ".eer", ".dm4", ".em", ".spi", ".hdf", ".cbox", ".pos"])


def stem(name):
    """Micrograph name of a path or JSON key: base name without a known file extension."""
    base = os.path.basename(str(name))
    root, ext = os.path.splitext(base)
    return root if ext.lower() in _NAME_EXTENSIONS else base


def _table(rows, source):
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 3) if len(rows) else np.zeros((0, 3))
    finite_xy = np.isfinite(arr[:, :2]).all(axis=1)
    if not finite_xy.all():
        raise CryopickInputError(
            f"{source}: {int((~finite_xy).sum())} coordinates are NaN or infinite")
    return arr


# ----------------------------------------------------------------------------- detection
def detect_format(path):
    """Format of one coordinate file, by extension and, for ambiguous text, by content."""
    ext = os.path.splitext(path)[1].lower()
    fmt = _EXTENSIONS.get(ext)
    if fmt is None:
        raise CryopickInputError(
            f"{path}: unknown coordinate file type '{ext}' "
            f"(supported: {', '.join(sorted(_EXTENSIONS))})")
    if fmt == "txt":
        # CryoPPP exports are sometimes saved as .txt: a header naming X-Coordinate says so
        with open(path, errors="replace") as fh:
            head = fh.readline()
        if "x-coordinate" in head.lower():
            return "csv"
    return fmt


def coordinate_files(source):
    """The coordinate files of a path: the file itself, or the coordinate files of a folder."""
    if os.path.isfile(source):
        return [source]
    if not os.path.isdir(source):
        raise CryopickInputError(f"{source}: coordinate file or folder does not exist")
    files = sorted(os.path.join(source, n) for n in os.listdir(source)
                   if os.path.splitext(n)[1].lower() in _EXTENSIONS
                   and os.path.isfile(os.path.join(source, n)))
    if not files:
        raise CryopickInputError(
            f"{source}: no coordinate files (supported: {', '.join(sorted(_EXTENSIONS))})")
    return files


# ----------------------------------------------------------------------------- readers
def _read_json(path):
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise CryopickInputError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise CryopickInputError(
            f"{path}: expected an object {{\"image.png\": [[x, y], ...]}}, found {type(data).__name__}")
    out = {}
    for key, points in data.items():
        rows = []
        for i, p in enumerate(points if isinstance(points, list) else [None]):
            if not isinstance(p, (list, tuple)) or len(p) < 2:
                raise CryopickInputError(
                    f"{path}: entry {i} of '{key}' is not a coordinate pair [x, y]")
            try:
                rows.append([float(p[0]), float(p[1]), float(p[2]) if len(p) > 2 else np.nan])
            except (TypeError, ValueError):
                raise CryopickInputError(
                    f"{path}: entry {i} of '{key}' is not numeric: {p!r}") from None
        _merge(out, stem(key), _table(rows, path))
    return out


def _read_csv(path):
    with open(path, newline="", errors="replace") as fh:
        text = fh.read()
    rows = []
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return {stem(path): _table([], path)}
    cols = [h.strip().lower() for h in header]
    try:
        ix, iy = cols.index("x-coordinate"), cols.index("y-coordinate")
    except ValueError:
        raise CryopickInputError(
            f"{path}: CSV header must name X-Coordinate and Y-Coordinate (found {header})") from None
    iscore = next((cols.index(c) for c in ("score", "confidence", "probability") if c in cols), None)
    for lineno, row in enumerate(reader, start=2):
        if not row or not "".join(row).strip():
            continue
        try:
            score = float(row[iscore]) if iscore is not None else np.nan
            rows.append([float(row[ix]), float(row[iy]), score])
        except (ValueError, IndexError):
            raise CryopickInputError(f"{path}: line {lineno} is not numeric: {row}") from None
    return {stem(path): _table(rows, path)}


_STAR_TOKEN = re.compile(r'"([^"]*)"|\'([^\']*)\'|(\S+)')

#: RELION's figure of merit of a pick without a score (manual picks)
NO_SCORE = -999.0


def _star_fields(line):
    """Fields of a STAR data line; a quoted field ("mic b.mrc") keeps its spaces."""
    return [next(g for g in m.groups() if g is not None) for m in _STAR_TOKEN.finditer(line)]


def _star_quote(text):
    return f'"{text}"' if not text or any(c.isspace() for c in text) else text


def parse_star(path):
    """Minimal STAR reader: list of (block name, column names, rows of strings) for loops."""
    blocks, name, cols, rows, in_loop = [], None, None, None, False
    with open(path, errors="replace") as fh:
        for raw in fh:
            line = raw.strip()
            if not line or line.startswith("#"):
                if in_loop and rows:
                    in_loop = False
                continue
            if line.startswith("data_"):
                if cols is not None:
                    blocks.append((name, cols, rows))
                name, cols, rows, in_loop = line[5:], None, None, False
            elif line.startswith("loop_"):
                if cols is not None:
                    blocks.append((name, cols, rows))
                cols, rows, in_loop = [], [], True
            elif line.startswith("_"):
                if in_loop and not rows:
                    cols.append(line.split()[0][1:])
            elif in_loop and cols is not None:
                rows.append(_star_fields(line))
    if cols is not None:
        blocks.append((name, cols, rows))
    return blocks


def _read_star(path):
    all_blocks = parse_star(path)
    blocks = [b for b in all_blocks
              if "rlnCoordinateX" in b[1] and "rlnCoordinateY" in b[1]]
    if not blocks:
        raise CryopickInputError(
            f"{path}: no STAR loop with _rlnCoordinateX and _rlnCoordinateY")
    _, cols, rows = blocks[0]
    ix, iy = cols.index("rlnCoordinateX"), cols.index("rlnCoordinateY")
    imic = cols.index("rlnMicrographName") if "rlnMicrographName" in cols else None
    iscore = next((cols.index(c) for c in ("rlnAutopickFigureOfMerit", "rlnParticleSelectZScore")
                   if c in cols), None)
    out = {}
    grouped = {}
    for i, row in enumerate(rows):
        try:
            rec = [float(row[ix]), float(row[iy]),
                   float(row[iscore]) if iscore is not None else np.nan]
        except (ValueError, IndexError):
            raise CryopickInputError(f"{path}: row {i + 1} of the coordinate loop is malformed: {row}") from None
        if rec[2] == NO_SCORE:
            rec[2] = np.nan
        key = stem(row[imic]) if imic is not None else stem(path)
        grouped.setdefault(key, []).append(rec)
    if imic is None and not grouped:
        grouped[stem(path)] = []
    # micrographs without picks: a loop of names only (written by write_coordinates)
    for name, mcols, mrows in all_blocks:
        if name == _EMPTY_BLOCK and "rlnMicrographName" in mcols:
            j = mcols.index("rlnMicrographName")
            for row in mrows:
                grouped.setdefault(stem(row[j]), [])
    for key, recs in grouped.items():
        _merge(out, key, _table(recs, path))
    return out


def _read_columns(path, box):
    rows = []
    with open(path, errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.replace(",", " ").split()
            if not parts or parts[0].startswith("#"):
                continue
            try:
                values = [float(v) for v in parts]
            except ValueError:
                if not rows and lineno == 1:
                    continue  # a header line
                raise CryopickInputError(f"{path}: line {lineno} is not numeric: {line.strip()}") from None
            if len(values) < (4 if box else 2):
                raise CryopickInputError(
                    f"{path}: line {lineno} has {len(values)} columns, expected "
                    f"{'x y width height' if box else 'x y [score]'}")
            if box:
                # EMAN boxes store the corner; the particle centre is half a box further
                rows.append([values[0] + values[2] / 2.0, values[1] + values[3] / 2.0,
                             values[4] if len(values) > 4 else np.nan])
            else:
                rows.append([values[0], values[1], values[2] if len(values) > 2 else np.nan])
    return {stem(path): _table(rows, path)}


_READERS = {"json": _read_json, "csv": _read_csv, "star": _read_star,
            "box": lambda p: _read_columns(p, box=True),
            "txt": lambda p: _read_columns(p, box=False)}


def _merge(out, key, table):
    out[key] = np.concatenate([out[key], table]) if key in out else table


def read_coordinates(source, fmt="auto"):
    """Read a coordinate file or folder into ``{micrograph name: (N, 3) [x, y, score]}``.

    A folder must hold one format only (mixed formats are almost always a mistake: a
    folder holding both the picks and the particles of another tool).
    """
    files = coordinate_files(source)
    if fmt not in ("auto",) + FORMATS:
        raise CryopickInputError(f"unknown coordinate format '{fmt}' (use auto or {', '.join(FORMATS)})")
    formats = {f: (detect_format(f) if fmt == "auto" else fmt) for f in files}
    kinds = sorted(set(formats.values()))
    if len(kinds) > 1:
        examples = ", ".join(f"{os.path.basename(f)} ({k})" for f, k in list(formats.items())[:6])
        raise CryopickInputError(
            f"{source}: mixed coordinate formats {kinds} ({examples}); keep one format per folder")
    out = {}
    for path in files:
        for key, table in _READERS[formats[path]](path).items():
            _merge(out, key, table)
    return out


# ----------------------------------------------------------------------------- matching
def match_to_micrographs(coord_names, micrograph_names):
    """Map coordinate names to micrograph names.

    Exact name first. Else a unique prefix relation at a separator, either way round: picker
    outputs add suffixes (``mic_001_autopick`` -> ``mic_001``) and motion correction renames
    micrographs (``mic_001`` -> ``mic_001_aligned``). Returns (``{coord name: micrograph
    name}``, [unmatched coord names]).
    """
    mics = sorted(set(micrograph_names), key=len, reverse=True)
    mic_set = set(mics)

    def prefixed(longer, shorter):
        return longer.startswith(shorter) and longer[len(shorter):len(shorter) + 1] in ("_", "-", ".", "@")

    matched, unmatched = {}, []
    for name in coord_names:
        if name in mic_set:
            matched[name] = name
            continue
        hits = [m for m in mics if prefixed(name, m)][:1]  # longest micrograph name wins
        if not hits:
            hits = [m for m in mics if prefixed(m, name)]
        if len(hits) == 1:
            matched[name] = hits[0]
        else:
            unmatched.append(name)
    return matched, unmatched


def assign_to_micrographs(tables, micrograph_shapes, scale=1.0, invert_y=False, source=""):
    """Put coordinate tables onto micrographs: match names, scale, flip Y, drop outside.

    ``micrograph_shapes`` is ``{micrograph name: (height, width)}``. Returns
    (``{micrograph name: table}`` for every micrograph, report). The report counts what was
    imported per micrograph and what was dropped and why, for the protocol summary. Raises
    when coordinates exist but none of their names matches a micrograph (a wrong folder).
    """
    if scale <= 0:
        raise CryopickInputError(f"coordinate scale factor must be > 0 (got {scale})")
    matched, unmatched = match_to_micrographs(list(tables), list(micrograph_shapes))
    n_unmatched = sum(len(tables[n]) for n in unmatched)
    if tables and not matched:
        raise CryopickInputError(
            f"{source or 'coordinates'}: no coordinate name matches a micrograph "
            f"(coordinates for {sorted(tables)[:5]}, micrographs {sorted(micrograph_shapes)[:5]})")
    assigned = {m: np.zeros((0, 3)) for m in micrograph_shapes}
    per_mic = {m: dict(imported=0, outside=0) for m in micrograph_shapes}
    for name, mic in matched.items():
        kept, dropped = transform_coordinates(tables[name], micrograph_shapes[mic], scale, invert_y)
        assigned[mic] = np.concatenate([assigned[mic], kept])
        per_mic[mic]["imported"] += len(kept)
        per_mic[mic]["outside"] += dropped
    report = dict(
        micrographs=len(micrograph_shapes),
        imported=sum(v["imported"] for v in per_mic.values()),
        dropped_outside=sum(v["outside"] for v in per_mic.values()),
        dropped_unmatched=n_unmatched,
        unmatched_names=sorted(unmatched),
        per_micrograph=per_mic,
        scale=scale, invert_y=bool(invert_y))
    return assigned, report


def format_report(report):
    """Human-readable lines of an assign_to_micrographs() report."""
    lines = [f"Micrographs: {report['micrographs']}",
             f"Coordinates imported: {report['imported']}"]
    if report["dropped_outside"]:
        lines.append(f"Dropped {report['dropped_outside']} coordinates outside their micrograph "
                     "(check the scale factor and Y inversion)")
    if report["dropped_unmatched"] or report["unmatched_names"]:
        names = ", ".join(report["unmatched_names"][:5])
        more = "..." if len(report["unmatched_names"]) > 5 else ""
        lines.append(f"Dropped {report['dropped_unmatched']} coordinates of "
                     f"{len(report['unmatched_names'])} names matching no micrograph: {names}{more}")
    empty = [m for m, v in report["per_micrograph"].items() if v["imported"] == 0]
    if empty:
        lines.append(f"Micrographs without coordinates: {len(empty)}")
    return lines


def transform_coordinates(table, shape, scale=1.0, invert_y=False):
    """Scale coordinates (picked on a binned image), optionally flip Y, and drop the ones
    outside the micrograph. Returns (kept table, number dropped as outside).

    ``shape`` is (height, width). Y inversion maps y -> height - y (origin moved from the
    bottom to the top row), applied after scaling, in the micrograph's own frame.
    """
    height, width = shape
    out = np.array(table, dtype=np.float64, copy=True).reshape(-1, 3)
    out[:, :2] *= scale
    if invert_y:
        out[:, 1] = height - out[:, 1]
    inside = (out[:, 0] >= 0) & (out[:, 0] < width) & (out[:, 1] >= 0) & (out[:, 1] < height)
    return out[inside], int((~inside).sum())


# ----------------------------------------------------------------------------- writers
def _with_score(table):
    """(N, 3) [x, y, score]; a missing score column becomes NaN (no score)."""
    t = np.asarray(table, dtype=np.float64)
    if t.size == 0:
        return np.zeros((0, 3))
    t = t.reshape(len(t), -1)
    if t.shape[1] == 2:
        t = np.column_stack([t, np.full(len(t), np.nan)])
    return t[:, :3]


def write_coordinates(path, table_by_mic, fmt=None, box_size=None):
    """Write a coordinate table. json and star write one file for all micrographs; csv, box
    and txt write one file per micrograph into the folder ``path``. Returns written paths."""
    fmt = fmt or _EXTENSIONS.get(os.path.splitext(path)[1].lower())
    if fmt not in FORMATS:
        raise CryopickInputError(f"{path}: cannot tell the output format; use one of {FORMATS}")
    table_by_mic = {name: _with_score(t) for name, t in table_by_mic.items()}
    if fmt == "json":
        data = {name: [[round(float(x), 2), round(float(y), 2)] +
                       ([round(float(s), 5)] if np.isfinite(s) else []) for x, y, s in t]
                for name, t in table_by_mic.items()}
        write_text_atomic(path, json.dumps(data, indent=1))
        return [path]
    if fmt == "star":
        lines = ["", "data_", "", "loop_", "_rlnMicrographName #1", "_rlnCoordinateX #2",
                 "_rlnCoordinateY #3", "_rlnAutopickFigureOfMerit #4"]
        for name, t in table_by_mic.items():
            for x, y, s in t:
                lines.append(f"{_star_quote(name)} {x:.2f} {y:.2f} "
                             f"{s if np.isfinite(s) else NO_SCORE:.5f}")
        empty = [name for name, t in table_by_mic.items() if not len(t)]
        if empty:  # else "picked, found nothing" reads back as "never picked"
            lines += ["", f"data_{_EMPTY_BLOCK}", "", "loop_", "_rlnMicrographName #1"]
            lines += [_star_quote(name) for name in empty]
        write_text_atomic(path, "\n".join(lines) + "\n")
        return [path]
    if fmt == "box" and not box_size:
        raise CryopickInputError("writing EMAN .box files needs a box size")
    os.makedirs(path, exist_ok=True)
    written = []
    for name, t in table_by_mic.items():
        target = os.path.join(path, f"{name}.{fmt}")
        if fmt == "csv":
            text = "X-Coordinate,Y-Coordinate,Diameter,Score\n" + "".join(
                f"{x:.2f},{y:.2f},{box_size or 0},{s:.5f}\n" for x, y, s in t)
        elif fmt == "box":
            text = "".join(f"{x - box_size / 2:.2f}\t{y - box_size / 2:.2f}\t{box_size}\t{box_size}\n"
                           for x, y, _ in t)
        else:
            text = "".join(f"{x:.2f} {y:.2f} {s:.5f}\n" for x, y, s in t)
        write_text_atomic(target, text)
        written.append(target)
    return written


def check_training_labels(images, labels):
    """Names of the micrographs with labels; errors for labels that cannot be trained on."""
    unknown = sorted(set(labels) - set(images))
    if unknown:
        raise CryopickInputError(f"labels for unknown micrographs: {unknown[:5]}")
    for n, v in labels.items():
        if len(v) and not np.all(np.isfinite(np.asarray(v, dtype=np.float64)[:, :2])):
            raise CryopickInputError(f"labels of micrograph {n}: NaN or infinite coordinates")
    labelled = [n for n in images if n in labels and len(labels[n])]
    if not labelled:
        raise CryopickInputError("no labelled particles: at least one micrograph needs coordinates")
    return labelled


def without_labels(names, labels):
    """The ``names`` (in their order) with no hand-picked particle in ``labels``."""
    return [n for n in names if not len(labels.get(n, ()))]
