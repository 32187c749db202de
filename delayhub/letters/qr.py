"""The QR code printed on each letter, as SVG for typst, made with segno.

segno picks the data mask the standard asks for (the lowest penalty of the eight, ISO/IEC 18004
7.8.3) by scoring each mask in pure Python: about 10 ms of a 37×37 symbol, as long as typst
takes for the whole letter. Here the same scores are computed for the eight masks at once with
numpy and segno is told which mask to use: the symbol is the very one ``segno.make(content)``
gives (tests/test_tracking.py checks it), at a third of the cost.
"""

from __future__ import annotations

import io
from functools import cache, lru_cache

import numpy as np
import segno
from segno import encoder as _segno_encoder

ERROR = "m"  # 15 % of the symbol may be lost (a fold, a stain); segno raises it when the size allows
_N3 = np.array([1, 0, 1, 1, 1, 0, 1], dtype=np.uint8)  # the finder-like 1:1:3:1:1 pattern


@lru_cache(maxsize=512)  # the Thai letter and its English translation carry the same code
def qr_svg(content: str) -> str:
    """``content`` as a QR code in SVG, 4 modules of quiet zone, one path, no size in millimetres
    (the template sets it)."""
    qr = symbol(content)
    out = io.BytesIO()
    qr.save(out, kind="svg", xmldecl=False, svgns=True, nl=False, border=4, svgclass=None, lineclass=None)
    return out.getvalue().decode("ascii")


def symbol(content: str) -> segno.QRCode:
    """The QR code ``segno.make(content, error="m")`` gives, with its mask chosen here (module doc)."""
    code = _segno_encoder.encode(content, error=ERROR, mask=0, micro=False)
    best = best_mask(code.matrix, code.version)
    if best:
        # Only the data modules and the format information depend on the mask.
        _, region = _function_modules(code.version)
        masks = _masks(region.shape[0])
        flipped = np.asarray(code.matrix, dtype=np.uint8) ^ (region & (masks[0] != masks[best]))
        matrix = tuple(bytearray(row.tobytes()) for row in flipped)
        _segno_encoder.add_format_info(matrix, code.version, code.error, best)
        code = code._replace(matrix=matrix, mask=best)
    return segno.QRCode(code)


def best_mask(matrix: tuple[bytearray, ...], version: int, mask: int = 0) -> int:
    """The mask with the lowest penalty for the data of ``matrix`` (a symbol masked with ``mask``);
    ties go to the lowest number, as in segno."""
    base, region = _function_modules(version)
    masks = _masks(base.shape[0])
    data = np.asarray(matrix, dtype=np.uint8) ^ masks[mask]  # that mask undone
    # Scored as segno scores them: function patterns in place, format and version areas blank.
    m = np.where(region, data[None] ^ masks, base[None])
    return int(np.argmin(_penalties(m)))


@cache
def _function_modules(version: int) -> tuple[np.ndarray, np.ndarray]:
    """(the symbol's function patterns with format/version areas blank, where the data goes)."""
    width = _segno_encoder.calc_matrix_size(version)
    m = _segno_encoder.make_matrix(width, width)
    _segno_encoder.add_finder_patterns(m, width, width)
    _segno_encoder.add_alignment_patterns(m, width, width)
    arr = np.asarray(m, dtype=np.uint8)
    region = arr == 0x2  # still unset: codewords go there, masks apply there
    return np.where(region, 0, arr).astype(np.uint8), region


@cache
def _masks(n: int) -> np.ndarray:
    """The eight QR data mask patterns over an n×n symbol (ISO/IEC 18004 table 10)."""
    i, j = np.indices((n, n))
    patterns = [(i + j) % 2 == 0, i % 2 == 0, j % 3 == 0, (i + j) % 3 == 0, (i // 2 + j // 3) % 2 == 0,
                (i * j) % 2 + (i * j) % 3 == 0, ((i * j) % 2 + (i * j) % 3) % 2 == 0,
                ((i + j) % 2 + (i * j) % 3) % 2 == 0]
    return np.stack(patterns).astype(np.uint8)


def _penalties(m: np.ndarray) -> np.ndarray:
    """Penalty N1 + N2 + N3 + N4 of each of the k symbols in ``m`` (k×n×n)."""
    k, n, _ = m.shape
    lines = np.concatenate([m, m.transpose(0, 2, 1)], axis=1)  # rows, then columns: k×2n×n
    # N1: each run of five or more alike in a row or column scores 3 + (length - 5). A sentinel
    # after each line keeps runs from joining across lines (and symbols).
    flat = np.concatenate([lines, np.full((k, 2 * n, 1), 2, np.uint8)], axis=2).ravel()
    starts = np.flatnonzero(np.concatenate([[True], flat[1:] != flat[:-1]]))
    runs = np.diff(np.append(starts, flat.size))
    long = runs >= 5
    n1 = np.bincount(starts[long] // (2 * n * (n + 1)), weights=runs[long] - 2, minlength=k).astype(np.int64)
    # N2: each 2×2 block alike scores 3
    same = (m[:, :-1, :-1] == m[:, 1:, :-1]) & (m[:, :-1, :-1] == m[:, :-1, 1:]) & (m[:, :-1, :-1] == m[:, 1:, 1:])
    n2 = 3 * same.sum(axis=(1, 2))
    # N3: 1:1:3:1:1 with four light modules on either side scores 40
    n3 = _n3(lines)
    # N4: 10 for each 5 % the dark share is away from half
    dark = m.sum(axis=(1, 2)) / (n * n) * 100
    n4 = 10 * (np.abs(dark - 50) / 5).astype(np.int64)
    return n1 + n2 + n3 + n4


def _n3(lines: np.ndarray) -> np.ndarray:
    """N3 as segno counts it: a pattern is counted when a line's end or four light modules lie on
    either side; a counted one is skipped whole before searching on, an uncounted one from four
    modules on (the pattern overlaps itself at four and six)."""
    k, count, n = lines.shape
    hits = (np.lib.stride_tricks.sliding_window_view(lines, 7, axis=2) == _N3).all(axis=3)
    dark = np.zeros((k, count, n + 1), np.int32)
    np.cumsum(lines, axis=2, out=dark[..., 1:])
    at = np.arange(n - 6)
    light_before = dark[..., at] == dark[..., np.maximum(at - 4, 0)]
    light_after = dark[..., np.minimum(at + 11, n)] == dark[..., at + 7]
    edge = (at == 0) | (at == n - 7)
    counted = hits & (edge | light_before | light_after)
    out = 40 * counted.sum(axis=(1, 2))
    # Where patterns overlap, which are counted depends on the order: redo those few lines in order.
    overlap = (hits[..., :-4] & hits[..., 4:]).any(axis=2) | (hits[..., :-6] & hits[..., 6:]).any(axis=2)
    for s, li in zip(*np.nonzero(overlap), strict=True):
        resume, exact = 0, 0
        for idx in np.flatnonzero(hits[s, li]):
            if idx < resume:
                continue
            resume = idx + 7 if counted[s, li, idx] else idx + 4
            exact += 40 if counted[s, li, idx] else 0
        out[s] += exact - 40 * counted[s, li].sum()
    return out
