"""Drive a real LibreOffice Calc through Python-UNO, the way a clerk works in it.

Run by Debian's ``/usr/bin/python3`` (the interpreter ``python3-uno`` is built for), not by the
project's Python: ``python3 uno_calc.py JOBS.json RESULT.json``. It imports nothing from gxsheet
or pytest. ``tests/lo.py`` (``run_uno``) writes the jobs, runs this script with a time limit and
reads the result.

One headless ``soffice`` is started with a private profile and a pipe of its own, every job runs
in it (a fresh start costs seconds on a shared machine), and the process is ended in ``finally``
whatever happens. A job opens a workbook, applies operations that find rows by their *labels*
(never by address), recalculates, saves the result in the formats asked for and reports what each
sheet then shows: every non-empty cell's displayed text, so a test can read the workbook's own
live checks (√ / ✗) as a person sees them.

Operations (``"op"`` and its arguments; ``row`` is ``{"label": text, "offset": n}``: the row
whose cell reads ``text`` (whitespace ignored), plus ``offset``):
    type         sheet, row, col (1-based), text    -- typed into the input line (as a person types)
    text         sheet, row, col, text               -- stored as text (pasted from Word, or '5)
    delete_row   sheet, row
    insert_row   sheet, row, [values: {col: text}]   -- an empty row above ``row`` (typed into when values)
    move_row     sheet, row, before                  -- cut ``row`` and insert it above ``before`` (both labels)
    move_col     sheet, col, before                  -- cut column ``col`` and insert it left of ``before``
    delete_col   sheet, col
    insert_col   sheet, col
    rename       sheet, name
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import uno  # noqa: F401  (Debian's python3-uno)
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

FILTERS = {"xlsx": "Calc MS Excel 2007 XML", "ods": "calc8", "html": "HTML (StarCalc)"}
START_TIMEOUT = 90.0


def _props(**kw: object) -> tuple:
    out = []
    for k, v in kw.items():
        p = PropertyValue()
        p.Name, p.Value = k, v
        out.append(p)
    return tuple(out)


def _url(path: str) -> str:
    return uno.systemPathToFileUrl(os.path.abspath(path))


def _norm(text: str) -> str:
    return "".join(text.split())


class Session:
    """One soffice process with a private profile, reachable on a pipe; always ended by close()."""

    def __init__(self, soffice: str) -> None:
        self.root = tempfile.mkdtemp(prefix="gxsheet-uno-")
        self.pipe = "gxsheet" + uuid.uuid4().hex[:12]
        profile = uno.systemPathToFileUrl(os.path.join(self.root, "profile"))
        self.proc = subprocess.Popen(
            [soffice, f"-env:UserInstallation={profile}", "--headless", "--invisible", "--norestore",
             "--nologo", "--nodefault", "--nolockcheck", f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # in our process group: killed with it
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                ctx = resolver.resolve(f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext")
                break
            except NoConnectException:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("soffice did not start") from None
                time.sleep(0.5)
        self.desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)

    def close(self) -> None:
        try:
            self.desktop.terminate()
        except Exception:  # noqa: BLE001 - the process is killed below anyway
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        shutil.rmtree(self.root, ignore_errors=True)


def _sheet(doc, name: str):
    sheets = doc.getSheets()
    if not sheets.hasByName(name):
        raise KeyError(f"no sheet {name!r}")
    return sheets.getByName(name)


def _used(sheet) -> tuple[int, int]:
    """(last row, last column), 0-based, of the sheet's used area."""
    cur = sheet.createCursor()
    cur.gotoEndOfUsedArea(False)
    a = cur.getRangeAddress()
    return a.EndRow, a.EndColumn


def _grid(sheet) -> tuple:
    """The used area's contents in one call (a call per cell would take minutes over the pipe)."""
    last_r, last_c = _used(sheet)
    return sheet.getCellRangeByPosition(0, 0, last_c, last_r).getDataArray()


def _find_row(sheet, row: dict, cache: dict) -> int:
    """0-based row whose cell reads row['label'] (whitespace ignored), plus row['offset']."""
    name = sheet.getName()
    if name not in cache:
        index: dict[str, list[int]] = {}
        for r, values in enumerate(_grid(sheet)):
            for v in values:
                if isinstance(v, str) and v:
                    hits = index.setdefault(_norm(v), [])
                    if not hits or hits[-1] != r:
                        hits.append(r)
        cache[name] = index
    hits = cache[name].get(_norm(row["label"]), [])
    if len(hits) != 1:
        raise LookupError(f"label {row['label']!r}: {len(hits)} rows in {name!r}")
    return hits[0] + int(row.get("offset", 0))


def _apply(doc, op: dict, cache: dict) -> None:
    sheet = _sheet(doc, op["sheet"])
    kind = op["op"]
    if kind not in ("type", "text"):
        cache.clear()  # rows and names move
    if kind == "rename":
        sheet.setName(op["name"])
        return
    if kind in ("delete_col", "insert_col"):
        cols = sheet.getColumns()
        if kind == "delete_col":
            cols.removeByIndex(op["col"] - 1, 1)
        else:
            cols.insertByIndex(op["col"] - 1, 1)
        return
    if kind == "move_col":
        _move(sheet, op["col"] - 1, op["before"] - 1, rows=False)
        return
    if kind == "move_row":
        _move(sheet, _find_row(sheet, op["row"], cache), _find_row(sheet, op["before"], cache), rows=True)
        return
    r = _find_row(sheet, op["row"], cache)
    if kind == "type":
        sheet.getCellByPosition(op["col"] - 1, r).setFormula(op["text"])
    elif kind == "text":
        sheet.getCellByPosition(op["col"] - 1, r).setString(op["text"])
    elif kind == "delete_row":
        sheet.getRows().removeByIndex(r, 1)
    elif kind == "insert_row":
        sheet.getRows().insertByIndex(r, 1)
        for col, text in (op.get("values") or {}).items():
            sheet.getCellByPosition(int(col) - 1, r).setFormula(text)
    else:
        raise ValueError(f"unknown operation {kind!r}")


def _move(sheet, src: int, dest: int, *, rows: bool) -> None:
    """Cut row (column) ``src`` and insert it before ``dest``, 0-based, as Calc's "insert cut cells"
    does: an empty row opens at ``dest``, the cut contents (formulas adjusted) move into it and the
    emptied row closes."""
    last_r, last_c = _used(sheet)
    (sheet.getRows() if rows else sheet.getColumns()).insertByIndex(dest, 1)
    if src >= dest:
        src += 1

    def line(i: int):  # a fresh range each time: a range object follows the cells it was made on
        return sheet.getCellRangeByPosition(0, i, last_c + 1, i) if rows else sheet.getCellRangeByPosition(i, 0, i, last_r + 1)

    target = sheet.getCellByPosition(0, dest) if rows else sheet.getCellByPosition(dest, 0)
    sheet.moveRange(target.getCellAddress(), line(src).getRangeAddress())
    if any(v != "" for cells in line(src).getDataArray() for v in cells):  # Calc refused (a merge cut in two)
        raise RuntimeError(f"Calc did not move {'row' if rows else 'column'} {src + 1}")
    (sheet.getRows() if rows else sheet.getColumns()).removeByIndex(src, 1)


def _shown(doc) -> dict[str, dict[str, str]]:
    """Every non-empty cell's text (numbers as Calc holds them), by sheet and A1 name."""
    out: dict[str, dict[str, str]] = {}
    sheets = doc.getSheets()
    for i in range(sheets.getCount()):
        sheet = sheets.getByIndex(i)
        cells = {}
        for r, values in enumerate(_grid(sheet)):
            for c, v in enumerate(values):
                if v != "":
                    cells[_a1(r, c)] = v if isinstance(v, str) else repr(v)
        out[sheet.getName()] = cells
    return out


def _a1(r: int, c: int) -> str:
    letters = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{r + 1}"


def run_job(session: Session, job: dict) -> dict:
    doc = session.desktop.loadComponentFromURL(_url(job["open"]), "_blank", 0, _props(Hidden=True))
    if doc is None:
        raise RuntimeError(f"LibreOffice could not open {job['open']}")
    try:
        for sheet in (doc.getSheets().getByIndex(i) for i in range(doc.getSheets().getCount())):
            sheet.unprotect("")  # the template guards labels against slips, not against a clerk
        cache: dict = {}
        for op in job.get("ops", []):
            _apply(doc, op, cache)
        doc.calculateAll()
        for path in job.get("save", []):
            ext = path.rsplit(".", 1)[-1]
            doc.storeToURL(_url(path), _props(FilterName=FILTERS[ext], Overwrite=True))
        return {"shown": _shown(doc)}
    finally:
        doc.close(True)


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    results = []
    session = Session(spec["soffice"])
    try:
        for job in spec["jobs"]:
            try:
                results.append(run_job(session, job))
            except Exception as exc:  # noqa: BLE001 - reported per job, the test decides
                results.append({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        session.close()
    with open(argv[2], "w", encoding="utf-8") as fh:
        json.dump({"results": results}, fh, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
