"""Ceilings on what one submitted file may cost us to read (every reader charges against them).

They live in core because every reader — workbooks, text, Word, web pages, JSON — is bounded by the
same object, and users set them from the command line or a config file (see :mod:`gxsheet.cli`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "MB", "Limits"]

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Ceilings on what one submitted workbook may cost us to read.

    The defaults are sized for the annual-report workbooks (5 sheets, a few hundred cells,
    well under 1 MB) with one to two orders of magnitude of headroom, so a genuine report
    is never refused while a hostile or runaway file is refused in milliseconds.  Override
    per call, e.g. ``Limits(max_rows=20_000)`` for a bulky attachment sheet.
    """

    #: Size of the file on disk.  Real reports are < 1 MB; 20 MB allows embedded pictures.
    max_file_bytes: int = 20 * MB
    #: Size of a report published as text or a web page (imports).  A real one is < 200 KB;
    #: parsing text costs ~25 bytes of memory per byte, so 4 MB keeps an import near 100 MB.
    max_text_bytes: int = 4 * MB
    #: Zip members.  An Excel report has ~15 parts; 500 allows many images/drawings.
    max_members: int = 500
    #: Sum of the declared uncompressed sizes of all members (zip-bomb guard).
    max_total_bytes: int = 100 * MB
    #: Per-member uncompressed:compressed ratio; real XML parts stay far below 100:1 ...
    max_ratio: float = 200.0
    #: ... and the ratio is only checked for members larger than this, since tiny
    #: repetitive parts legitimately compress very well.
    ratio_min_bytes: int = 1 * MB
    #: Sheet extent, checked against ``<dimension>``, every row and cell element (empty or
    #: not: openpyxl, behind ``--annotate``, walks everything up to the furthest one) and
    #: every merged range.
    max_rows: int = 5000
    max_cols: int = 200
    #: Non-empty cells (value or formula) kept per sheet; also caps the number of merged
    #: ranges and the cells they cover together.
    max_cells: int = 100_000
    #: Entries in the shared-string table.
    max_shared_strings: int = 200_000
    #: Longest cell text kept; longer text is truncated (not refused), like Excel's limit.
    max_text_len: int = 32767
    #: XML elements per workbook that cost Python-level work (rows and cells - formatted
    #: but empty ones too - and every element of metadata and streamed parts).  A report
    #: has a few thousand.  This is what bounds files that are huge but hold nothing the
    #: other limits count, e.g. a block of 5000 x 200 formatted empty cells: we would read
    #: it in a second, but openpyxl (``--annotate``) builds an object per cell, ~30 s and
    #: ~600 MB for a million; at this limit it stays within a few seconds and ~250 MB.
    max_elements: int = 200_000


DEFAULT_LIMITS = Limits()
