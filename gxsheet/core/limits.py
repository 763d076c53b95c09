"""Ceilings on what one submitted file may cost us to read (every reader charges against them).

They live in core because every reader — workbooks, text, Word, web pages, JSON — is bounded by the
same object, and users set them from the command line or a config file (:mod:`gxsheet.core.config`).
Each field carries what a user needs to set it: the name people type (sizes in MB, not bytes), the
unit, and a one-line description in Chinese and English; ``gxsheet validate --help``, ``gxsheet
config`` and the table in docs/safety.md are built from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["DEFAULT_LIMITS", "MB", "LIMITS", "LimitInfo", "Limits"]

MB = 1024 * 1024

#: unit kinds: sizes are set in MB (stored in bytes), counts are whole numbers, a ratio is any number,
#: a time is seconds (any number)
BYTES, COUNT, RATIO, SECONDS = "bytes", "count", "ratio", "seconds"


def _limit(default: int | float, kind: str, zh: str, en: str) -> Any:
    return field(default=default, metadata={"kind": kind, "zh": zh, "en": en})


@dataclass(frozen=True, slots=True)
class Limits:
    """Ceilings on what one submitted workbook may cost us to read.

    The defaults are sized for the annual-report workbooks (5 sheets, a few hundred cells,
    well under 1 MB) with one to two orders of magnitude of headroom, so a genuine report
    is never refused while a hostile or runaway file is refused in milliseconds.  Override
    per call, e.g. ``Limits(max_rows=20_000)`` for a bulky attachment sheet, or let users
    set them (``--limit max_rows=20000``, ``[limits]`` in gxsheet.toml).
    """

    #: Size of the file on disk.  Real reports are < 1 MB; 20 MB allows embedded pictures.
    max_file_bytes: int = _limit(20 * MB, BYTES, "文件在磁盘上的大小（文本、网页、JSON、Word 导入也用这一上限）",
                                 "size of the file on disk (also for text, web page, JSON and Word imports)")
    #: Size of a report published as text or a web page (imports).  A real one is < 200 KB;
    #: parsing text costs ~25 bytes of memory per byte, so 4 MB keeps an import near 100 MB.
    max_text_bytes: int = _limit(4 * MB, BYTES, "以文本、网页形式导入的年报的大小（真实年报不到 200 KB）",
                                 "size of a report imported as text or a web page (real ones are < 200 KB)")
    #: Zip members.  An Excel report has ~15 parts; 500 allows many images/drawings.
    max_members: int = _limit(500, COUNT, "压缩包内的部件数（一份 Excel 报表约 15 个）",
                              "parts in the zip container (an Excel report has ~15)")
    #: Sum of the declared uncompressed sizes of all members (zip-bomb guard).
    max_total_bytes: int = _limit(100 * MB, BYTES, "全部部件解压后的大小之和（防压缩炸弹）",
                                  "uncompressed size of all parts together (zip bombs)")
    #: Per-member uncompressed:compressed ratio; real XML parts stay far below 100:1 ...
    max_ratio: float = _limit(200.0, RATIO, "单个部件的解压比（只检查解压后超过 ratio_min_mb 的部件）",
                              "one part's uncompressed:compressed ratio (for parts above ratio_min_mb)")
    #: ... and the ratio is only checked for members larger than this, since tiny
    #: repetitive parts legitimately compress very well.
    ratio_min_bytes: int = _limit(1 * MB, BYTES, "小于此大小的部件不检查解压比（重复内容多，压缩比天然很高）",
                                  "parts smaller than this are not ratio-checked (they compress well by nature)")
    #: Sheet extent, checked against ``<dimension>``, every row and cell element (empty or
    #: not: openpyxl, behind ``--annotate``, walks everything up to the furthest one) and
    #: every merged range.
    max_rows: int = _limit(5000, COUNT, "工作表的行数（包括空白但有格式的行和单元格、合并区域）",
                           "rows of a sheet (formatted empty rows and cells and merged ranges count)")
    max_cols: int = _limit(200, COUNT, "工作表的列数（同上）", "columns of a sheet (likewise)")
    #: Non-empty cells (value or formula) kept per sheet; also caps the number of merged
    #: ranges and the cells they cover together.
    max_cells: int = _limit(100_000, COUNT, "每个工作表的非空单元格数；也是合并区域个数及其覆盖单元格总数的上限",
                            "non-empty cells of a sheet; also merged ranges and the cells they cover")
    #: Entries in the shared-string table.
    max_shared_strings: int = _limit(200_000, COUNT, "共享字符串表的条数", "entries of the shared-string table")
    #: Longest cell text kept; longer text is truncated (not refused), like Excel's limit.
    max_text_len: int = _limit(32767, COUNT, "单元格文字的最大长度（与 Excel 相同；更长的截断，不拒绝）",
                               "longest cell text kept (as in Excel; longer text is cut, not refused)")
    #: XML elements per workbook that cost Python-level work (rows and cells - formatted
    #: but empty ones too - and every element of metadata and streamed parts).  A report
    #: has a few thousand.  This is what bounds files that are huge but hold nothing the
    #: other limits count, e.g. a block of 5000 x 200 formatted empty cells: we would read
    #: it in a second, but openpyxl (``--annotate``) builds an object per cell, ~30 s and
    #: ~600 MB for a million; at this limit it stays within a few seconds and ~250 MB.
    max_elements: int = _limit(200_000, COUNT, "每个工作簿需逐个处理的 XML 元素总数（一份年报只有几千个）",
                               "XML elements of a workbook that cost work one by one (a report has a few thousand)")
    #: CPU seconds one file may take to read (or to annotate), enforced in a worker process
    #: (:mod:`gxsheet.core.bounded`).  A report reads in well under a second; the slowest
    #: legitimate input, a text report at ``max_text_bytes``, in a few seconds.
    max_seconds: float = _limit(20, SECONDS, "读取（或生成标注副本）一个文件可用的 CPU 时间（一份年报不到 1 秒）",
                                "CPU time reading (or annotating) one file may take (a report takes under a second)")
    #: Memory one file's worker may add to what it started with (its address space, enforced by
    #: the system).  A report needs a few MB; text at ``max_text_bytes`` ~100 MB; openpyxl
    #: (``--annotate``) on 96,000 formatted cells ~200 MB (measured as the worker's VmPeak growth).
    max_memory_bytes: int = _limit(768 * MB, BYTES, "读取一个文件的工作进程最多再占用的内存（一份年报只需几 MB）",
                                   "memory the worker reading one file may add (a report needs a few MB)")


@dataclass(frozen=True)
class LimitInfo:
    """One limit as users see it: the name they type, its unit, what it bounds."""

    name: str  #: what users type: ``max_file_mb`` for the field ``max_file_bytes``
    field: str  #: the :class:`Limits` field
    kind: str  #: BYTES (set in MB), COUNT (a whole number) or RATIO (any number)
    zh: str
    en: str

    def shown(self, value: int | float) -> str:
        """``value`` (a field value) as users write it: MB for sizes, digits for counts."""
        if self.kind == BYTES:
            return f"{value / MB:g}"
        if self.kind in (RATIO, SECONDS):
            return f"{value:g}"
        return str(value)

    @property
    def unit_zh(self) -> str:
        return {BYTES: "MB", COUNT: "个", RATIO: "倍", SECONDS: "秒"}[self.kind]

    @property
    def unit_en(self) -> str:
        return {BYTES: "MB", COUNT: "", RATIO: "", SECONDS: "s"}[self.kind]


def _info(f: Any) -> LimitInfo:
    name = f.name.removesuffix("_bytes") + "_mb" if f.metadata["kind"] == BYTES else f.name
    return LimitInfo(name, f.name, f.metadata["kind"], f.metadata["zh"], f.metadata["en"])


#: every settable limit, in the order of :class:`Limits`, by the name users type
LIMITS: dict[str, LimitInfo] = {i.name: i for i in map(_info, fields(Limits))}

DEFAULT_LIMITS = Limits()
