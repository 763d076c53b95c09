"""Aligning what a workbook holds to what the layout expects, by label.

Rows (and columns) are matched as two sequences — expected labels from the layout, labels found
in the file — with a small dynamic programme that maximises label similarity while keeping order.
One inserted row therefore gives one unmatched row, not a cascade of shifted cells; a misspelt
label still matches its row (and becomes an S-LABEL finding); a row renamed beyond recognition is
paired with the expected row in the same gap. An order-preserving alignment cannot pair a row that
was moved (cut and pasted elsewhere): ``moved`` pairs it afterwards by its label, so a moved row is
one finding and its values are still read.
"""

from __future__ import annotations

from collections.abc import Sequence

from gxsheet.core.normalise import similarity

MIN_SIMILARITY = 0.34


def align(expected: Sequence[str], found: Sequence[str]) -> dict[int, int]:
    """Map expected index → found index, order-preserving, maximising total similarity.

    Exact matches are found in linear time when nothing moved (the common case for a clean
    template); otherwise an O(n·m) alignment runs (n, m ≈ 30 for a table sheet).
    """
    if list(expected) == list(found):
        return {i: i for i in range(len(expected))}
    n, m = len(expected), len(found)
    sim = [[similarity(e, f) if e or f else 1.0 for f in found] for e in expected]
    # score[i][j]: best total for expected[:i], found[:j]
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    move = [[0] * (m + 1) for _ in range(n + 1)]  # 0 diag, 1 skip expected, 2 skip found
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            best, mv = score[i - 1][j], 1
            if score[i][j - 1] > best:
                best, mv = score[i][j - 1], 2
            s = sim[i - 1][j - 1]
            if s >= MIN_SIMILARITY and score[i - 1][j - 1] + s > best:
                best, mv = score[i - 1][j - 1] + s, 0
            score[i][j], move[i][j] = best, mv
    pairs: dict[int, int] = {}
    i, j = n, m
    while i > 0 and j > 0:
        mv = move[i][j]
        if mv == 0:
            pairs[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif mv == 1:
            i -= 1
        else:
            j -= 1
    _pair_gaps(pairs, n, m, expected, found)
    return pairs


def _pair_gaps(pairs: dict[int, int], n: int, m: int, expected: Sequence[str], found: Sequence[str]) -> None:
    """Between two matched anchors, an equal number of unmatched rows on both sides are the same
    rows with labels changed beyond recognition: pair them in order (non-empty found rows only)."""
    anchors = sorted(pairs.items())
    bounds = [(-1, -1)] + anchors + [(n, m)]
    for (e0, f0), (e1, f1) in zip(bounds, bounds[1:], strict=False):
        es = [e for e in range(e0 + 1, e1) if e not in pairs]
        fs = [f for f in range(f0 + 1, f1) if found[f]]
        if es and len(es) == len(fs):
            for e, f in zip(es, fs, strict=False):
                pairs[e] = f


def moved(expected: Sequence[str], found: Sequence[str], pairs: dict[int, int]) -> dict[int, int]:
    """Expected index → found index of rows (columns) left unpaired by ``align`` that carry the
    same label on both sides: a row moved out of order, not one deleted plus one inserted.

    Only a label that occurs once among the expected and once among the found labels counts
    (表四's repeated 结果维持 columns cannot say which one moved), and never an empty one.
    """
    def unique(texts: Sequence[str]) -> dict[str, int]:
        seen: dict[str, int] = {}
        for i, t in enumerate(texts):
            seen[t] = -1 if t in seen else i
        return {t: i for t, i in seen.items() if i >= 0 and t}

    used = set(pairs.values())
    found_at = unique(found)
    out: dict[int, int] = {}
    for text, i in unique(expected).items():
        j = found_at.get(text)
        if i not in pairs and j is not None and j not in used:
            out[i] = j
    return out
