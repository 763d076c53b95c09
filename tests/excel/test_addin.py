"""The Excel add-in's buttons (gxsheet.excel.addin), its xlwings port and the ``gxsheet addin`` command.

Excel is not available here, so the buttons are exercised twice:

* through ``OpenpyxlBook`` on real sample workbooks — the very functions the ribbon runs — and the
  workbook is checked afterwards (colours, comments, the 校验结果 sheet and its links, marks
  cleared on a re-run, exported files);
* through ``XlwingsBook`` over fake xlwings Book/Sheet/Range objects that behave like Excel where
  it matters (a leading ``'`` is eaten, a cell holds one note, protection flags are forgotten on
  Unprotect) and record every call, including the Excel entry points end to end with a fake
  ``xlwings.Book.caller()`` that, like the real one in xlwings' default mode, fails when Excel
  has no workbook window (and succeeds in UDF-server mode, where the VBA hands the add-in over).
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import docx
import pytest
from openpyxl import Workbook, load_workbook

from gxsheet.cli.app import main
from gxsheet.core.layout import RESULT_SHEET
from gxsheet.core.spec import load_spec
from gxsheet.excel import addin
from gxsheet.excel.addin import AddinError, Result
from gxsheet.excel.xlwings_book import NOTE_KEPT, NOTE_MARK, ExcelApp, XlwingsBook, as_cell_text, hex_to_rgb, rgb_to_hex
from gxsheet.read.workbook import read_report
from gxsheet.render.annotate import ERROR_FILL, WARNING_FILL
from gxsheet.render.book_port import AUTHOR, OpenpyxlBook
from gxsheet.render.samples import valid_values, write_sample
from gxsheet.render.template import template_bytes
from gxsheet.render.txt import render_txt

ROOT = Path(__file__).resolve().parents[2]
#: the sample's 表三 自然人 column: 一 (received) is D5; +7 breaks T3-IDENTITY and T3-ROW-TOTAL
BROKEN_KEY, BROKEN_CELL = "t3.received.natural", ("表三", "D5")
OK_PROSE = {"s6": "本年度未收取信息处理费。"}


def _sample(path: Path, *, broken: bool = False, warn: bool = False, edition: str = "2021",
            meta: dict[str, Any] | None = None) -> Path:
    values: dict[str, Any] = {}
    m: dict[str, Any] = dict(meta or {})
    if broken:
        values[BROKEN_KEY] = valid_values(load_spec(edition), 1)[BROKEN_KEY] + 7
    if warn:  # a town that reports rules: T2-TOWN-RULES, a warning on 表二!B4
        values["t2_1.rules.made"] = 2
        m["level"] = "镇"
    return write_sample(path, edition, seed=1, values=values, meta=m, prose=OK_PROSE)


def _fill(path: Path, sheet: str, a1: str) -> str | None:
    f = load_workbook(path)[sheet][a1].fill
    return f.fgColor.rgb[-6:] if f is not None and f.fill_type == "solid" else None


# ---------------------------------------------------------------------------------------------
# 校验 through OpenpyxlBook
# ---------------------------------------------------------------------------------------------


def test_validate_marks_cells_comments_and_result_sheet_with_links(tmp_path: Path) -> None:
    path = _sample(tmp_path / "某镇2021年报.xlsx", broken=True, warn=True)
    book = OpenpyxlBook(path)
    result = addin.validate_book(book)
    assert (result.ok, result.errors, result.warnings, result.level) == (True, 2, 1, "warning")
    assert "“某镇2021年报.xlsx”校验完成：2个错误，1个疑问" in result.message
    assert RESULT_SHEET in result.message and "再点一次“校验”" in result.message
    book.save(tmp_path / "saved.xlsx")

    wb = load_workbook(tmp_path / "saved.xlsx")
    assert wb.sheetnames[0] == RESULT_SHEET
    assert wb.active.title == RESULT_SHEET
    sheet, a1 = BROKEN_CELL
    assert _fill(tmp_path / "saved.xlsx", sheet, a1) == ERROR_FILL
    assert _fill(tmp_path / "saved.xlsx", "表二", "B4") == WARNING_FILL
    comment = wb[sheet][a1].comment
    assert comment.author == AUTHOR and "[T3-IDENTITY]" in comment.text and "[T3-ROW-TOTAL]" in comment.text
    assert "[T2-TOWN-RULES]" in wb["表二"]["B4"].comment.text
    rs = wb[RESULT_SHEET]
    assert rs["A1"].value.startswith("校验结果：2个错误，1个疑问")
    rules = [rs.cell(r, 3).value for r in range(4, 7)]
    assert sorted(rules) == ["T2-TOWN-RULES", "T3-IDENTITY", "T3-ROW-TOTAL"]
    links = {rs.cell(r, 3).value: rs.cell(r, 4).hyperlink for r in range(4, 7)}
    assert links["T3-IDENTITY"].location == f"'{sheet}'!{a1}" or links["T3-IDENTITY"].target == f"#'{sheet}'!{a1}"
    assert all(link is not None for link in links.values())
    # the templates' protection is back on every sheet that was marked
    assert wb[sheet].protection.sheet and wb["表二"].protection.sheet


def test_validate_reads_unsaved_edits_and_rerun_after_a_fix_clears_every_mark(tmp_path: Path) -> None:
    path = _sample(tmp_path / "report.xlsx")
    book = OpenpyxlBook(path)
    sheet, a1 = BROKEN_CELL
    original_fill = book.get_fill(sheet, a1)
    good = book.get_value(sheet, a1)
    book.set_value(sheet, a1, good + 7)  # typed in Excel, not saved: the snapshot must see it
    first = addin.validate_book(book)
    assert first.errors == 2 and book.get_fill(sheet, a1) == ERROR_FILL

    book.set_value(sheet, a1, good)  # the clerk corrects the cell and clicks 校验 again
    second = addin.validate_book(book)
    assert (second.ok, second.errors, second.warnings, second.level) == (True, 0, 0, "info")
    assert "校验通过" in second.message
    assert book.get_fill(sheet, a1) == original_fill
    assert book.comment_author(sheet, a1) is None
    assert all(book.comment_author(s, c) != AUTHOR for s in book.sheet_names() for c in book.commented_cells(s))
    assert book.sheet_names().count(RESULT_SHEET) == 1
    assert book.get_value(RESULT_SHEET, "A1") == "校验通过：未发现问题。"
    assert book.is_protected(sheet)


def test_validate_never_writes_to_the_workbook_file(tmp_path: Path) -> None:
    path = _sample(tmp_path / "report.xlsx", broken=True)
    before = path.read_bytes()
    addin.validate_book(OpenpyxlBook(path))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]


def test_validate_a_workbook_that_is_not_a_report_names_the_workbook_not_the_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "名单.xlsx"
    wb = Workbook()
    wb.active["A1"] = "随便一张表"
    wb.save(path)
    with pytest.raises(AddinError) as err:
        addin.validate_book(OpenpyxlBook(path))
    text = err.value.message_zh
    assert "名单.xlsx" in text and "不是政府信息公开年报工作簿" in text
    assert "gxsheet-" not in text and "workbook.xlsx" not in text


# ---------------------------------------------------------------------------------------------
# 导出文本 through OpenpyxlBook
# ---------------------------------------------------------------------------------------------


def test_export_writes_txt_and_docx_next_to_the_workbook(tmp_path: Path) -> None:
    path = _sample(tmp_path / "某镇2021年报.xlsx", warn=True)
    result = addin.export_book(OpenpyxlBook(path))
    txt, docx_path = tmp_path / "某镇2021年报.txt", tmp_path / "某镇2021年报.docx"
    assert result.ok and result.files == [txt, docx_path]
    assert str(txt) in result.message and str(docx_path) in result.message
    assert "另有 1 项疑问" in result.message
    record = read_report(path)
    assert txt.read_text(encoding="utf-8") == render_txt(record, None, "zh")
    paragraphs = "\n".join(p.text for p in docx.Document(str(docx_path)).paragraphs)
    assert "测试单位名称" in paragraphs and "政府信息公开工作年度报告" in paragraphs
    # atomic writes leave no temp files behind
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, txt.name, docx_path.name])


def test_export_again_replaces_the_previous_export(tmp_path: Path) -> None:
    path = _sample(tmp_path / "r.xlsx")
    addin.export_book(OpenpyxlBook(path))
    (tmp_path / "r.txt").write_text("旧的导出", encoding="utf-8")
    again = addin.export_book(OpenpyxlBook(path))
    assert again.ok and "已替换上次导出的 r.txt、r.docx" in again.message
    assert "年度报告" in (tmp_path / "r.txt").read_text(encoding="utf-8")


def test_export_refuses_a_report_with_errors_and_says_how_many(tmp_path: Path) -> None:
    path = _sample(tmp_path / "bad.xlsx", broken=True, warn=True)
    result = addin.export_book(OpenpyxlBook(path))
    assert not result.ok and (result.errors, result.warnings, result.level) == (2, 1, "warning")
    assert "有 2 项错误（另有 1 项疑问），未导出" in result.message
    assert "请先点“校验”" in result.message and "标红" in result.message
    assert "表三 自然人列" in result.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xlsx"]


class _Unsaved(OpenpyxlBook):
    """A workbook Excel has never saved: FullName is a bare name."""

    def full_name(self) -> str:
        return "工作簿1"


class _Cloud(OpenpyxlBook):
    def full_name(self) -> str:
        return "https://d.docs.live.net/abc/年报.xlsx"


def test_export_of_an_unsaved_or_cloud_workbook_asks_to_save_it_locally(tmp_path: Path) -> None:
    path = _sample(tmp_path / "r.xlsx")
    with pytest.raises(AddinError, match="(?s)还没有保存过.*Ctrl\\+S"):
        addin.export_book(_Unsaved(path))
    with pytest.raises(AddinError, match="OneDrive/SharePoint"):
        addin.export_book(_Cloud(path))
    # validating an unsaved workbook is fine: it only needs the snapshot
    assert addin.validate_book(_Unsaved(path)).ok


def test_export_to_a_locked_file_explains_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _sample(tmp_path / "r.xlsx")

    def locked(src: Any, dst: Any) -> None:
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr("gxsheet.core.atomic.os.replace", locked)
    with pytest.raises(AddinError, match="(?s)r.docx.*Word"):
        addin.export_book(OpenpyxlBook(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


# ---------------------------------------------------------------------------------------------
# 新建模板
# ---------------------------------------------------------------------------------------------


def test_new_template_follows_the_open_workbooks_year_and_goes_next_to_it(tmp_path: Path) -> None:
    meta = {"year": 2020, "period_start": dt.date(2020, 1, 1), "period_end": dt.date(2020, 12, 31)}
    path = _sample(tmp_path / "2020年报.xlsx", edition="2019", meta=meta)
    result = addin.new_template(OpenpyxlBook(path), today=dt.date(2024, 1, 5))
    target = tmp_path / "政府信息公开工作年度报告（2019版模板）.xlsx"
    assert result.ok and result.edition == "2019" and result.files == [target]
    assert target.read_bytes() == template_bytes(load_spec("2019"))
    assert "2020 年度" in result.message and str(target) in result.message


def test_new_template_without_a_year_uses_this_years_edition_and_never_overwrites(tmp_path: Path) -> None:
    name = "政府信息公开工作年度报告（2021版模板）.xlsx"
    (tmp_path / name).write_bytes(b"the clerk's own file")
    first = addin.new_template(None, folder=tmp_path, today=dt.date(2025, 1, 10))
    second = addin.new_template(None, folder=tmp_path, today=dt.date(2025, 1, 10))
    assert first.edition == "2021" and "今年（2025年）" in first.message
    assert first.files == [tmp_path / "政府信息公开工作年度报告（2021版模板） (2).xlsx"]
    assert second.files == [tmp_path / "政府信息公开工作年度报告（2021版模板） (3).xlsx"]
    assert (tmp_path / name).read_bytes() == b"the clerk's own file"
    # a workbook that is not a report has no year: this year's edition, next to that workbook
    other = tmp_path / "sub" / "名单.xlsx"
    other.parent.mkdir()
    Workbook().save(other)
    third = addin.new_template(OpenpyxlBook(other), today=dt.date(2020, 6, 1))
    assert third.edition == "2019" and third.files[0].parent == other.parent


def test_new_template_with_an_unknown_edition_says_which_exist(tmp_path: Path) -> None:
    with pytest.raises(AddinError, match="2019、2021"):
        addin.new_template(None, "2030", folder=tmp_path)


def test_free_path_and_local_folder(tmp_path: Path) -> None:
    assert addin.free_path(tmp_path, "a.xlsx") == tmp_path / "a.xlsx"
    assert addin.local_folder("Book1") is None
    assert addin.local_folder("https://x/y.xlsx") is None
    assert addin.local_folder(str(tmp_path / "x.xlsx")) == tmp_path
    assert addin.local_folder(str(tmp_path / "missing" / "x.xlsx")) is None


# ---------------------------------------------------------------------------------------------
# Fake xlwings: Book / Sheets / Sheet / Range / Note / App that behave like Excel and record calls
# ---------------------------------------------------------------------------------------------


class Log(list):
    def of(self, kind: str) -> list[tuple]:
        return [c for c in self if c[0] == kind]


class Obj:
    """A COM-ish object: attributes set freely (``api.Interior.Color`` style)."""

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)


class FakeNote:
    def __init__(self, rng: FakeRange, text: str, author: str) -> None:
        self.rng, self._text, self.author = rng, text, author
        self.api = Obj(Shape=Obj(Width=100, Height=60))

    @property
    def text(self) -> str:
        return self._text

    @property
    def location(self) -> FakeRange:
        return self.rng

    def delete(self) -> None:
        self.rng.sheet.log.append(("delete_note", self.rng.sheet.name, self.rng.a1))
        self.rng.sheet.notes_by_cell.pop(self.rng.a1, None)


class FakeHyperlinks:
    def __init__(self, rng: FakeRange) -> None:
        self.rng = rng

    def Add(self, **kw: Any) -> None:  # noqa: N802 - Excel's COM name
        self.rng.sheet.log.append(("hyperlink", self.rng.sheet.name, self.rng.a1, kw))
        self.rng.sheet.values[self.rng.a1] = kw["TextToDisplay"]


class FakeFont:
    def __init__(self, rng: FakeRange) -> None:
        self.__dict__["rng"] = rng

    def __setattr__(self, name: str, value: Any) -> None:
        self.rng.sheet.log.append(("font", self.rng.sheet.name, self.rng.a1, name, value))


class FakeColumns:
    def __init__(self, rng: FakeRange) -> None:
        self.rng = rng

    @property
    def hidden(self) -> bool:
        return self.rng.a1 in self.rng.sheet.hidden

    @hidden.setter
    def hidden(self, value: bool) -> None:
        self.rng.sheet.log.append(("hidden", self.rng.sheet.name, self.rng.a1, value))
        self.rng.sheet.hidden.add(self.rng.a1)


class FakeRange:
    def __init__(self, sheet: FakeSheet, a1: str) -> None:
        self.sheet, self.a1 = sheet, a1.replace("$", "")
        self.api = Obj(Hyperlinks=FakeHyperlinks(self))
        self.font = FakeFont(self)
        self.columns = FakeColumns(self)

    @property
    def address(self) -> str:
        m = re.fullmatch(r"([A-Z]+)(\d+)", self.a1)
        return f"${m.group(1)}${m.group(2)}" if m else self.a1

    def _editable(self) -> None:
        if self.sheet.protected:  # Excel: "The cell ... is on a protected sheet"
            raise RuntimeError(f"{self.sheet.name}!{self.a1} is on a protected sheet")

    @property
    def value(self) -> Any:
        return self.sheet.values.get(self.a1)

    @value.setter
    def value(self, v: Any) -> None:
        self._editable()
        self.sheet.log.append(("value", self.sheet.name, self.a1, v))
        if isinstance(v, str) and v.startswith("'"):
            v = v[1:]  # Excel's text prefix is not part of the value
        elif isinstance(v, str) and v.startswith("="):
            v = ("formula", v)
        self.sheet.values[self.a1] = v if v != "" else None

    @property
    def color(self) -> tuple[int, int, int] | None:
        return self.sheet.colors.get(self.a1)

    @color.setter
    def color(self, c: Any) -> None:
        self._editable()
        self.sheet.log.append(("color", self.sheet.name, self.a1, c))
        assert c is None or (isinstance(c, tuple) and len(c) == 3)
        if c is None:
            self.sheet.colors.pop(self.a1, None)
        else:
            self.sheet.colors[self.a1] = c

    @property
    def note(self) -> FakeNote | None:
        return self.sheet.notes_by_cell.get(self.a1)

    def add_note(self, text: str) -> FakeNote:
        self._editable()
        if self.note is not None:
            raise ValueError("This cell already has a note")  # as xlwings
        self.sheet.log.append(("add_note", self.sheet.name, self.a1, text))
        note = FakeNote(self, text, author="张三")  # Excel records Application.UserName
        self.sheet.notes_by_cell[self.a1] = note
        return note

    @property
    def column_width(self) -> float | None:
        return None

    @column_width.setter
    def column_width(self, w: float) -> None:
        self.sheet.log.append(("width", self.sheet.name, self.a1, w))


class FakeSheetApi:
    """Worksheet COM object: protection that forgets its Allow* options on Unprotect, like Excel."""

    def __init__(self, sheet: FakeSheet) -> None:
        self.sheet = sheet
        self.ProtectDrawingObjects = True
        self.ProtectScenarios = True
        self.Protection = Obj(**{k: False for k in (
            "AllowFormattingCells", "AllowFormattingColumns", "AllowFormattingRows", "AllowInsertingColumns",
            "AllowInsertingRows", "AllowInsertingHyperlinks", "AllowDeletingColumns", "AllowDeletingRows",
            "AllowSorting", "AllowFiltering", "AllowUsingPivotTables")})

    @property
    def ProtectContents(self) -> bool:  # noqa: N802
        return self.sheet.protected

    def Unprotect(self, *a: Any) -> None:  # noqa: N802
        if self.sheet.password:
            raise type("com_error", (Exception,), {})("The password you supplied is not correct.")
        self.sheet.log.append(("Unprotect", self.sheet.name))
        self.sheet.protected = False
        for k in vars(self.Protection):
            setattr(self.Protection, k, False)

    def Protect(self, **kw: Any) -> None:  # noqa: N802
        self.sheet.log.append(("Protect", self.sheet.name, kw))
        self.sheet.protected = True
        for k, v in kw.items():
            if k.startswith("Allow"):
                setattr(self.Protection, k, v)


class FakeSheet:
    def __init__(self, book: FakeBook, name: str) -> None:
        self.book, self.name, self.log = book, name, book.log
        self.values: dict[str, Any] = {}
        self.colors: dict[str, tuple[int, int, int]] = {}
        self.notes_by_cell: dict[str, FakeNote] = {}
        self.hidden: set[str] = set()
        self.protected = False
        self.password = False
        self.api = FakeSheetApi(self)

    def range(self, a1: str) -> FakeRange:
        return FakeRange(self, a1)

    @property
    def notes(self) -> list[FakeNote]:
        return list(self.notes_by_cell.values())

    def activate(self) -> None:
        self.log.append(("activate", self.name))
        self.book.active_sheet = self.name

    def delete(self) -> None:
        self.log.append(("delete_sheet", self.name))
        self.book.sheets.items.remove(self)


class FakeSheets:
    def __init__(self, book: FakeBook) -> None:
        self.book, self.items = book, []

    def __iter__(self):
        return iter(list(self.items))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: int | str) -> FakeSheet:
        if isinstance(key, int):
            return self.items[key]
        for s in self.items:
            if s.name == key:
                return s
        raise KeyError(key)

    def add(self, name: str, before: FakeSheet | None = None, after: FakeSheet | None = None) -> FakeSheet:
        if any(s.name.lower() == name.lower() for s in self.items):
            raise ValueError(f"Sheet named '{name}' already present in workbook")
        self.book.log.append(("add_sheet", name, before.name if before else None, after.name if after else None))
        sheet = FakeSheet(self.book, name)
        index = self.items.index(before) if before else (self.items.index(after) + 1 if after else len(self.items))
        self.items.insert(index, sheet)
        return sheet


class FakeBookApi:
    def __init__(self, book: FakeBook) -> None:
        self.book = book
        self.ProtectStructure = False

    def SaveCopyAs(self, path: str) -> None:  # noqa: N802
        self.book.log.append(("SaveCopyAs", path))
        if isinstance(self.book.snapshot, BaseException):
            raise self.book.snapshot
        shutil.copyfile(self.book.snapshot, path)


class FakeBook:
    """An open workbook. ``snapshot`` is the file SaveCopyAs writes: what Excel would save now."""

    def __init__(self, app: FakeApp, fullname: str, snapshot: Path | BaseException | None = None,
                 *, protect_like: Path | None = None) -> None:
        self.app, self.fullname, self.snapshot = app, fullname, snapshot
        self.name = re.split(r"[\\/]", fullname)[-1]
        self.log = app.log
        self.sheets = FakeSheets(self)
        self.api = FakeBookApi(self)
        self.active_sheet: str | None = None
        if isinstance(snapshot, Path):
            self.load(snapshot)

    def load(self, path: Path) -> None:
        """Take sheet names, values and protection from a workbook file (what is on screen)."""
        wb = load_workbook(path)
        self.sheets.items = []
        for ws in wb.worksheets:
            sheet = FakeSheet(self, ws.title)
            sheet.values = {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}
            sheet.protected = bool(ws.protection.sheet)
            if sheet.protected:  # like the templates: resizing rows and columns allowed
                sheet.api.Protection.AllowFormattingColumns = True
                sheet.api.Protection.AllowFormattingRows = True
            self.sheets.items.append(sheet)


class FakeBooks:
    def __init__(self, app: FakeApp) -> None:
        self.app = app
        self.active_book: FakeBook | None = None
        #: workbooks open in hidden windows (PERSONAL.XLSB, or the add-in's temporary blank book)
        self.hidden: list[FakeBook] = []

    def windows(self) -> int:
        """How many workbook windows (visible or hidden) Excel has: what Book.caller() needs."""
        return len(self.hidden) + (self.active_book is not None)

    @property
    def active(self) -> Any:
        if self.active_book is None:
            return Obj(api=None, name=None)  # xlwings: Book(impl) around ActiveWorkbook = Nothing
        return self.active_book

    def open(self, path: str) -> None:
        self.app.log.append(("open", path))


class FakeApp:
    def __init__(self, log: Log, default_folder: Path | None = None) -> None:
        self.log = log
        self.books = FakeBooks(self)
        self.screen_updating = True
        self.api = Obj(DefaultFilePath=str(default_folder) if default_folder else "")
        self.fail_alert = False
        self.udf_server = False

    def alert(self, prompt: str, title: str | None = None, buttons: str = "ok", mode: str | None = None,
              callback: str | None = None) -> str:
        if self.fail_alert:
            raise RuntimeError("no message box")
        self.log.append(("alert", prompt, title, buttons, mode, self.screen_updating))
        return "ok"


def fake_xlwings(app: FakeApp, *, udf_server: bool = False) -> types.ModuleType:
    """A stand-in ``xlwings`` module whose ``Book.caller()`` is the add-in in ``app``.

    Like the real one on Windows: in the default mode (a new Python per click, ``--hwnd`` on the
    command line) it attaches through a workbook window and fails with an OSError when Excel has
    none — no workbook open; in UDF-server mode the VBA hands over the add-in and no window is
    needed.
    """
    module = types.ModuleType("xlwings")
    addin_book = Obj(app=app, name="gxsheet.xlam", fullname=r"C:\Users\clerk\AppData\Roaming\Microsoft\Excel\XLSTART\gxsheet.xlam")

    class Book:
        @staticmethod
        def caller() -> Any:
            if not udf_server and not app.books.windows():
                # AccessibleObjectFromWindow on a window handle of 0 (no XLDESK/EXCEL7 child)
                raise OSError(22, "[WinError -2147024809] The parameter is incorrect")
            return addin_book

    module.Book = Book  # type: ignore[attr-defined]
    module.__version__ = "0.37.8"  # type: ignore[attr-defined]
    return module


@pytest.fixture(params=["default", "udf-server"])
def excel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeApp:
    """Excel with its default folder in tmp_path/Excel-default, in both xlwings modes."""
    docs = tmp_path / "Excel-default"
    docs.mkdir()
    app = FakeApp(Log(), default_folder=docs)
    app.udf_server = request.param == "udf-server"
    monkeypatch.setitem(sys.modules, "xlwings", fake_xlwings(app, udf_server=app.udf_server))
    return app


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The user's home folder, with a Documents folder, in tmp_path (documents_dir() off Windows)."""
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path / "home"))
    (tmp_path / "home" / "Documents").mkdir(parents=True)
    return tmp_path / "home"


def _open(app: FakeApp, path: Path, snapshot: Path | BaseException | None = None) -> FakeBook:
    """Make ``path`` the active workbook; what is on screen (and SaveCopyAs writes) is ``snapshot``."""
    book = FakeBook(app, str(path), snapshot if snapshot is not None else path)
    app.books.active_book = book
    return book


# ---------------------------------------------------------------------------------------------
# XlwingsBook over the fakes
# ---------------------------------------------------------------------------------------------


def test_colour_conversion() -> None:
    assert hex_to_rgb("FFC7CE") == (255, 199, 206) and hex_to_rgb("FFFFC7CE") == (255, 199, 206)
    assert rgb_to_hex((255, 199, 206)) == "FFC7CE" and rgb_to_hex(None) is None
    assert rgb_to_hex(0xCEC7FF) == "FFC7CE"  # Excel's BGR integer
    assert as_cell_text("'表三'!D5") == "''表三'!D5" and as_cell_text(3) == 3 and as_cell_text("") == ""


def test_xlwings_book_maps_the_port_onto_xlwings(tmp_path: Path) -> None:
    log = Log()
    app = FakeApp(log)
    fb = FakeBook(app, str(tmp_path / "x.xlsx"))
    for name in ("基本信息", "表三"):
        fb.sheets.items.append(FakeSheet(fb, name))
    book = XlwingsBook(fb, mac=False)

    book.add_sheet(RESULT_SHEET, first=True)
    assert book.sheet_names() == [RESULT_SHEET, "基本信息", "表三"]
    assert log.of("add_sheet") == [("add_sheet", RESULT_SHEET, "基本信息", None)]
    # strings are stored literally, whatever Excel would make of them
    for text in ("'表三'!D5", "=1+1", "2021/3", "FFC7CE"):
        book.set_value(RESULT_SHEET, "G4", text)
        assert book.get_value(RESULT_SHEET, "G4") == text
    book.set_value(RESULT_SHEET, "A1", "标题", bold=True)
    assert ("font", RESULT_SHEET, "A1", "bold", True) in log
    # fills: hex in the port, RGB tuples in xlwings
    book.set_fill("表三", "D5", "FFC7CE")
    assert log.of("color")[-1] == ("color", "表三", "D5", (255, 199, 206))
    assert book.get_fill("表三", "D5") == "FFC7CE"
    book.set_fill("表三", "D5", None)
    assert book.get_fill("表三", "D5") is None
    # notes: ours carry a marker (Excel records the Windows user as author)
    book.set_comment("表三", "D5", "[T3-IDENTITY] 差7")
    assert log.of("add_note")[-1][3] == NOTE_MARK + "[T3-IDENTITY] 差7"
    assert book.comment_author("表三", "D5") == AUTHOR and book.commented_cells("表三") == ["D5"]
    note = fb.sheets["表三"].notes_by_cell["D5"]
    assert (note.api.Shape.Width, note.api.Shape.Height) == (270, 120)
    book.set_comment("表三", "D5", "[T3-IDENTITY] 差8")  # replacing ours does not nest markers
    assert fb.sheets["表三"].notes_by_cell["D5"].text == NOTE_MARK + "[T3-IDENTITY] 差8"
    book.set_comment("表三", "D5", None)
    assert book.comment_author("表三", "D5") is None and book.commented_cells("表三") == []
    # a clerk's own note survives being marked and comes back when the mark is cleared
    fb.sheets["表三"].range("D6").add_note("请核对：含上年数")
    assert book.comment_author("表三", "D6") == "张三"
    book.set_comment("表三", "D6", "[T3-IDENTITY] 差7")
    assert fb.sheets["表三"].notes_by_cell["D6"].text == NOTE_MARK + "[T3-IDENTITY] 差7" + NOTE_KEPT + "请核对：含上年数"
    book.set_comment("表三", "D6", "[T3-IDENTITY] 差9")
    assert fb.sheets["表三"].notes_by_cell["D6"].text.endswith(NOTE_KEPT + "请核对：含上年数")
    book.set_comment("表三", "D6", None)
    assert fb.sheets["表三"].notes_by_cell["D6"].text == "请核对：含上年数"
    # links inside the workbook: SubAddress with an empty Address
    book.set_link(RESULT_SHEET, "D4", "表三!D5", "表三", "D5")
    kw = log.of("hyperlink")[-1][3]
    assert (kw["Address"], kw["SubAddress"], kw["TextToDisplay"]) == ("", "'表三'!D5", "表三!D5")
    assert book.get_value(RESULT_SHEET, "D4") == "表三!D5"
    # the one output rule: a sheet's name and a message are the workbook's text, controls shown escaped
    book.set_link(RESULT_SHEET, "D4", "表\x1b三!D5", "表\x1b三", "D5")
    kw = log.of("hyperlink")[-1][3]
    assert kw["TextToDisplay"] == "表\\x1b三!D5" and "\x1b" not in kw["ScreenTip"]
    book.set_comment("表三", "D7", "[V-NUMBER] “\u202e12”")
    assert log.of("add_note")[-1][3] == NOTE_MARK + "[V-NUMBER] “\\u202e12”"
    book.set_width(RESULT_SHEET, "E", 100)
    book.hide_column(RESULT_SHEET, "G")
    assert ("width", RESULT_SHEET, "E:E", 100) in log and ("hidden", RESULT_SHEET, "G:G", True) in log
    book.activate(RESULT_SHEET)
    assert fb.active_sheet == RESULT_SHEET
    book.delete_sheet(RESULT_SHEET)
    assert book.sheet_names() == ["基本信息", "表三"]
    assert book.full_name() == str(tmp_path / "x.xlsx")


def test_protection_options_survive_unprotect_and_protect() -> None:
    app = FakeApp(Log())
    fb = FakeBook(app, "C:/x.xlsx")
    sheet = FakeSheet(fb, "表三")
    sheet.protected = True
    sheet.api.Protection.AllowFormattingColumns = True
    sheet.api.ProtectScenarios = False
    fb.sheets.items.append(sheet)
    book = XlwingsBook(fb, mac=False)
    assert book.is_protected("表三")
    book.protect("表三", False)
    assert not book.is_protected("表三") and not sheet.api.Protection.AllowFormattingColumns
    book.protect("表三", True)
    kw = app.log.of("Protect")[-1][2]
    assert kw["Contents"] is True and kw["AllowFormattingColumns"] is True and kw["Scenarios"] is False
    assert sheet.api.Protection.AllowFormattingColumns is True
    # a password-protected sheet cannot be marked: a Chinese message says what to do
    sheet.password = True
    with pytest.raises(AddinError, match="(?s)密码保护.*撤销工作表保护"):
        book.protect("表三", False)


def test_protected_workbook_structure_is_explained() -> None:
    app = FakeApp(Log())
    fb = FakeBook(app, "C:/x.xlsx")
    fb.sheets.items.append(FakeSheet(fb, "表三"))
    fb.api.ProtectStructure = True
    with pytest.raises(AddinError, match="工作簿结构受保护"):
        XlwingsBook(fb, mac=False).add_sheet(RESULT_SHEET)


# ---------------------------------------------------------------------------------------------
# The Excel entry points, end to end over the fakes
# ---------------------------------------------------------------------------------------------


def test_validate_active_end_to_end(excel: FakeApp, tmp_path: Path) -> None:
    bad = _sample(tmp_path / "某镇2021年报.xlsx", broken=True)
    book = _open(excel, bad)
    sheet, a1 = BROKEN_CELL
    book.sheets[sheet].colors[a1] = (255, 255, 204)  # the template's input-cell fill, say

    result = addin.validate_active()
    assert result.ok and result.errors == 2
    ((_, text, title, buttons, mode, updating),) = excel.log.of("alert")
    assert title == "政务公开年报 · 校验" and buttons == "ok" and mode == "critical"
    assert text == result.message and "2个错误，0个疑问" in text
    assert updating is True  # screen updating is back on before the message box
    assert excel.log.of("SaveCopyAs")[0][1].endswith("workbook.xlsx")
    assert ("color", sheet, a1, (255, 199, 206)) in excel.log
    notes = [c for c in excel.log.of("add_note") if c[1:3] == (sheet, a1)]
    assert len(notes) == 1 and notes[0][3].startswith(NOTE_MARK) and "[T3-IDENTITY]" in notes[0][3]
    links = excel.log.of("hyperlink")
    assert {(c[1], c[2], c[3]["SubAddress"]) for c in links} >= {(RESULT_SHEET, "D4", f"'{sheet}'!{a1}")}
    assert [s.name for s in book.sheets][0] == RESULT_SHEET and book.active_sheet == RESULT_SHEET
    # the template's protection came back with its options
    assert ("Unprotect", sheet) in excel.log
    protect = [c for c in excel.log.of("Protect") if c[1] == sheet][-1][2]
    assert protect["AllowFormattingColumns"] is True and protect["AllowFormattingRows"] is True
    assert book.sheets[sheet].protected

    # the clerk fixes the cell (Excel would now save the fixed values) and clicks 校验 again
    book.snapshot = _sample(tmp_path / "fixed.xlsx")
    excel.log.clear()
    again = addin.validate_active()
    assert again.ok and again.errors == 0 and "校验通过" in excel.log.of("alert")[0][1]
    assert book.sheets[sheet].colors[a1] == (255, 255, 204)
    assert a1 not in book.sheets[sheet].notes_by_cell
    assert [s.name for s in book.sheets].count(RESULT_SHEET) == 1
    assert book.sheets[RESULT_SHEET].values["A1"] == "校验通过：未发现问题。"


def test_export_active_refuses_then_exports(excel: FakeApp, tmp_path: Path) -> None:
    bad = _sample(tmp_path / "r.xlsx", broken=True)
    book = _open(excel, bad)
    refused = addin.export_active()
    assert not refused.ok and "有 2 项错误" in excel.log.of("alert")[-1][1]
    assert excel.log.of("alert")[-1][4] == "critical"
    assert not (tmp_path / "r.txt").exists() and not (tmp_path / "r.docx").exists()
    book.snapshot = _sample(tmp_path / "fixed.xlsx")  # fixed on screen, not yet saved
    done = addin.export_active()
    assert done.ok and (tmp_path / "r.txt").is_file() and (tmp_path / "r.docx").is_file()
    assert excel.log.of("alert")[-1][4] == "info" and str(tmp_path / "r.txt") in excel.log.of("alert")[-1][1]


def test_new_template_entry_point_with_no_workbook_open(excel: FakeApp, home: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """No workbook open: in UDF-server mode xlwings attaches anyway and Excel opens the template;
    in the default mode it cannot attach, and the template still goes into Documents."""
    result = addin.new_template()
    assert result.ok and result.files[0].is_file()
    if excel.udf_server:
        assert result.files[0].parent == tmp_path / "Excel-default"
        assert excel.log.of("open") == [("open", str(result.files[0]))]
        assert "模板已在 Excel 中打开" in excel.log.of("alert")[0][1]
    else:
        assert result.files[0].parent == home / "Documents"
        assert excel.log.of("open") == [] and excel.log.of("alert") == []
        shown = capsys.readouterr().err  # no Excel to own a message box: the last-resort channel
        assert str(result.files[0]) in shown and "文件 → 打开" in shown
        assert "读写文件时出错" not in shown


def test_new_template_with_only_a_hidden_workbook_window(excel: FakeApp, tmp_path: Path) -> None:
    """What the VBA arranges when no workbook is open: a hidden blank workbook gives xlwings a
    window to attach through; it is not the active workbook, so the template goes to Excel's
    default folder and is opened there."""
    excel.books.hidden.append(FakeBook(excel, "Book1"))
    result = addin.new_template()
    assert result.ok and result.files[0].parent == tmp_path / "Excel-default"
    assert excel.log.of("open") == [("open", str(result.files[0]))]


def test_new_template_entry_point_next_to_the_active_workbook(excel: FakeApp, tmp_path: Path) -> None:
    meta = {"year": 2020, "period_start": dt.date(2020, 1, 1), "period_end": dt.date(2020, 12, 31)}
    path = _sample(tmp_path / "2020.xlsx", edition="2019", meta=meta)
    _open(excel, path)
    result = addin.new_template()
    assert result.edition == "2019" and result.files == [tmp_path / "政府信息公开工作年度报告（2019版模板）.xlsx"]


def test_buttons_without_an_open_workbook_say_so(excel: FakeApp, capsys: pytest.CaptureFixture[str]) -> None:
    for entry, action in ((addin.validate_active, "校验"), (addin.export_active, "导出文本")):
        result = entry()
        assert not result.ok and result.level == "warning"
        assert f"请先打开要{action}的年报工作簿" in result.message
        assert "读写文件时出错" not in result.message and "OSError" not in result.message
        _no_traceback(result.message)
        if excel.udf_server:  # attached: Excel shows the box
            assert excel.log.of("alert")[-1][1] == result.message
        else:  # xlwings could not attach: the message still reaches the clerk
            assert excel.log.of("alert") == [] and result.message in capsys.readouterr().err
            assert result.message.startswith("没能连接到 Excel")


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text and "line " not in text


def test_an_exception_inside_becomes_a_chinese_message(excel: FakeApp, tmp_path: Path) -> None:
    _open(excel, tmp_path / "r.xlsx", snapshot=RuntimeError("boom"))
    result = addin.validate_active()
    assert not result.ok and result.level == "error"
    text = excel.log.of("alert")[-1][1]
    assert text.startswith("“校验”没有完成：内部错误（RuntimeError：boom）") and "发给维护者" in text
    _no_traceback(text)
    assert excel.screen_updating is True

    com_error = type("com_error", (Exception,), {})
    _open(excel, tmp_path / "r.xlsx", snapshot=com_error(-2147418111, "Call was rejected by callee.", None, None))
    addin.export_active()
    text = excel.log.of("alert")[-1][1]
    assert "Excel 拒绝了操作或正忙" in text
    _no_traceback(text)


def test_a_broken_excel_connection_still_gives_a_message(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    module = types.ModuleType("xlwings")

    class Book:
        @staticmethod
        def caller() -> Any:
            raise Exception("Book.caller() must not be called directly.")

    module.Book = Book  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "xlwings", module)
    result = addin.validate_active()
    assert not result.ok and result.message == addin.unreachable_message("校验")
    assert "没能连接到 Excel" in capsys.readouterr().err


def test_a_failing_message_box_does_not_raise(excel: FakeApp, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    excel.fail_alert = True
    addin.validate_active()  # no workbook open → a message, shown on stderr as the last resort
    assert "请先打开" in capsys.readouterr().err


@pytest.mark.parametrize("exc, expected", [
    (ImportError("No module named 'xlwings'", name="xlwings"), "pip install \"gxsheet[addin]\""),
    (PermissionError(13, "denied", "C:/r.docx"), "无法写入“C:/r.docx”"),
    (FileNotFoundError(2, "missing", "C:/x"), "找不到“C:/x”"),
    (AddinError("自定义说明"), "自定义说明"),
])
def test_failure_messages(exc: BaseException, expected: str) -> None:
    text = addin.failure_message("导出文本", exc)
    assert expected in text
    _no_traceback(text)


def test_load_errors_keep_their_own_chinese_message() -> None:
    from gxsheet.core.errors import LoadError

    e = LoadError("a.xls", "xls", "a.xls：这是旧版 .xls 文件，请另存为 .xlsx。", "a.xls: old .xls")
    assert addin.failure_message("校验", e) == "a.xls：这是旧版 .xls 文件，请另存为 .xlsx。"


def test_active_book_ignores_the_add_in_itself() -> None:
    app = FakeApp(Log())
    addin_book = FakeBook(app, r"C:\XLSTART\gxsheet.xlam")
    app.books.active_book = addin_book
    assert ExcelApp(app, caller_name="gxsheet.xlam").active_book() is None
    app.books.active_book = FakeBook(app, r"C:\r.xlsx")
    assert isinstance(ExcelApp(app, caller_name="gxsheet.xlam").active_book(), XlwingsBook)


# ---------------------------------------------------------------------------------------------
# The VBA ↔ Python contract, and xlwings stays out of everything but xlwings_book
# ---------------------------------------------------------------------------------------------


def test_every_runpython_call_in_the_vba_names_an_entry_point_callable_without_arguments() -> None:
    bas = (ROOT / "macros" / "gxsheet_ribbon.bas").read_text(encoding="ascii")
    calls = re.findall(r'RunPython "import gxsheet\.excel\.addin; gxsheet\.excel\.addin\.(\w+)\(\)"', bas)
    assert sorted(calls) == ["export_active", "new_template", "validate_active"]
    for name in calls:
        fn = getattr(addin, name)
        params = inspect.signature(fn).parameters.values()
        assert all(p.default is not inspect.Parameter.empty for p in params), name


def test_only_xlwings_book_imports_xlwings_among_the_addin_modules() -> None:
    for name in ("excel/addin.py", "render/annotate.py", "render/book_port.py", "cli/addin.py"):
        source = (ROOT / "gxsheet" / name).read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import xlwings|from xlwings)", source, re.MULTILINE), name
    code = "import sys, gxsheet.excel.addin, gxsheet.excel.xlwings_book, gxsheet.cli.app; assert 'xlwings' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_result_is_a_plain_value() -> None:
    r = Result("校验", True, "好")
    assert (r.errors, r.warnings, r.files, r.level) == (0, 0, [], "info")


# ---------------------------------------------------------------------------------------------
# gxsheet addin build / install / uninstall
# ---------------------------------------------------------------------------------------------


def test_cli_build_is_reproducible_and_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.xlam", tmp_path / "b.xlam"
    assert main(["addin", "build", "-o", str(a)]) == 0
    assert main(["addin", "build", "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert "已生成加载项" in capsys.readouterr().out
    assert main(["addin", "build", "-o", str(a)]) == 2
    assert "已存在" in capsys.readouterr().err
    assert main(["addin", "build", "-o", str(a), "--force"]) == 0
    assert main(["addin", "build", "-o", str(tmp_path / "x.xlsx")]) == 2
    assert ".xlam" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the refusal is for other systems")
@pytest.mark.parametrize("action", ["install", "uninstall"])
def test_cli_install_on_linux_says_excel_is_needed(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    from gxsheet.excel.install import UNSUPPORTED_MESSAGE

    assert main(["addin", action]) == 2
    out = capsys.readouterr()
    assert out.err.strip() == UNSUPPORTED_MESSAGE and "Traceback" not in out.err + out.out


def test_cli_install_and_uninstall_for_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from gxsheet.excel import install as addin_install

    env = {"APPDATA": str(tmp_path / "Roaming")}
    monkeypatch.setattr(addin_install, "install", functools.partial(
        addin_install.install, platform="win32", env=env, executable=r"C:\Python311\python.exe"))
    monkeypatch.setattr(addin_install, "uninstall", functools.partial(
        addin_install.uninstall, platform="win32", env=env))
    assert main(["addin", "install"]) == 0
    installed = tmp_path / "Roaming" / "Microsoft" / "Excel" / "XLSTART" / "gxsheet.xlam"
    assert installed.is_file() and "重新启动 Excel" in capsys.readouterr().out
    assert main(["addin", "uninstall"]) == 0
    assert not installed.exists() and "已卸载" in capsys.readouterr().out
    assert main(["addin", "uninstall"]) == 0
    assert "没有找到" in capsys.readouterr().out


def test_cli_addin_without_an_action_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["addin"]) == 2
    assert "build" in capsys.readouterr().err


def test_cli_install_with_udf_server_builds_it_into_the_config_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from test_xlam import _config_rows

    from gxsheet.excel import install as addin_install

    python = r"C:\Python311\python.exe"
    monkeypatch.setattr(addin_install, "plan", functools.partial(
        addin_install.plan, platform="win32", env={"APPDATA": str(tmp_path)}, executable=python))
    assert main(["addin", "install", "--udf-server"]) == 0
    rows = _config_rows(tmp_path / "Microsoft" / "Excel" / "XLSTART" / "gxsheet.xlam")
    assert rows["Use UDF Server"] is True and rows["Interpreter_Win"] == python
    assert "Use UDF Server" in capsys.readouterr().out

    monkeypatch.setattr(addin_install, "plan", functools.partial(
        addin_install.plan, platform="darwin", home=tmp_path, executable="/usr/bin/python3"))
    assert main(["addin", "install", "--udf-server"]) == 2
    assert "只适用于 Windows" in capsys.readouterr().err


def test_the_fakes_use_only_what_the_pinned_xlwings_offers() -> None:
    """Every xlwings attribute XlwingsBook/ExcelApp relies on exists in the installed xlwings."""
    import xlwings
    from xlwings import main as xw

    assert xlwings.__version__ == "0.37.8"
    uses = {
        xw.Book: ("caller", "app", "api", "fullname", "name", "sheets"),
        xw.Sheets: ("add", "__getitem__", "__iter__", "__len__"),
        xw.Sheet: ("api", "name", "range", "notes", "activate", "delete"),
        xw.Range: ("value", "color", "note", "add_note", "api", "font", "column_width", "columns", "address",
                   "add_hyperlink"),
        xw.RangeColumns: ("hidden",),
        xw.Note: ("text", "author", "delete", "location", "api"),
        xw.App: ("alert", "books", "screen_updating", "api"),
        xw.Books: ("active", "open"),
    }
    for cls, names in uses.items():
        for name in names:
            assert hasattr(cls, name), f"{cls.__name__}.{name}"
    assert list(inspect.signature(xw.Sheets.add).parameters)[1:] == ["name", "before", "after"]
    assert {"prompt", "title", "buttons", "mode"} <= set(inspect.signature(xw.App.alert).parameters)
    assert list(inspect.signature(xw.Range.add_note).parameters)[1:] == ["text"]
