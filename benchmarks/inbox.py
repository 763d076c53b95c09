"""A realistic county inbox for the benchmarks: distinct towns, ~20% with a planted error, saved as Excel saves.

Real submissions are not clones of one file. Each generated town workbook here has
* its own 单位名称 and its own consistent values (one of ``value_sets`` sets drawn by
  ``samples.valid_values``, cycled; with the name and the errors no two files are alike);
* in one file of five a planted error, of the kinds clerks make: a total that does not add up
  (T3-*), a blank cell (V-BLANK), "无" in a number cell (V-NUMBER), a decimal count (V-INTEGER) —
  so validation has findings to build, which an all-valid inbox hides;
* every string in a shared-string table (``xl/sharedStrings.xml``, ``t="s"`` cells), as Excel
  writes workbooks (gxsheet's template has inline strings);
* the selection Excel saves where the clerk last clicked, so the sheets' XML outside the cells
  differs from file to file (the reader's memo of a template's layout does not hit).

Generating is fast because only the first workbook per edition goes through the template writer
(``samples.write_sample``): the rest are that file's parts with the value cells' XML rewritten,
~1 ms a file, so 20,000 towns take seconds.

    from inbox import make_inbox
    paths, planted = make_inbox(folder, 3000)        # planted: file name → rule it must raise
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gxsheet.core.a1 import col_letter  # noqa: E402
from gxsheet.core.layout import workbook_layout  # noqa: E402
from gxsheet.core.spec import load_spec  # noqa: E402
from gxsheet.render.samples import valid_values, write_sample  # noqa: E402

EDITION = "2021"
#: one file in ERROR_EVERY gets a planted error
ERROR_EVERY = 5
SST = "xl/sharedStrings.xml"
_INLINE = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*?) t="inlineStr"><is>(.*?)</is></c>', re.S)


@dataclass
class _Part:
    """A sheet's XML cut around the cells we rewrite: pieces[0] cell0 pieces[1] cell1 … pieces[n]."""

    pieces: list[str]
    cells: list[tuple[str, str, str]]  # (key, ref, attributes without t=)


def _share_strings(members: dict[str, bytes]) -> list[str]:
    """Turn every inline string of every sheet into a shared string, as Excel saves; returns the table."""
    table: list[str] = []
    index: dict[str, int] = {}

    def shared(m: re.Match) -> str:
        body = m.group(3)
        if body not in index:
            index[body] = len(table)
            table.append(body)
        return f'<c r="{m.group(1)}"{m.group(2)} t="s"><v>{index[body]}</v></c>'

    for name in [n for n in members if n.startswith("xl/worksheets/")]:
        members[name] = _INLINE.sub(shared, members[name].decode("utf-8")).encode("utf-8")
    ct = members["[Content_Types].xml"].decode()
    if SST not in ct:
        members["[Content_Types].xml"] = ct.replace(
            "</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>').encode()
        rels = members["xl/_rels/workbook.xml.rels"].decode()
        members["xl/_rels/workbook.xml.rels"] = rels.replace(
            "</Relationships>", '<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>').encode()
    return table


class Generator:
    """Writes town workbooks of one edition by rewriting the value cells of one filled workbook."""

    def __init__(self, folder: Path, edition: str = EDITION, value_sets: int = 200, varied: bool = True) -> None:
        self.spec = spec = load_spec(edition)
        self.varied = varied
        base = folder / "_base.xlsx"
        write_sample(base, edition, seed=0, meta={"level": "镇", "parent": "某县"},
                     prose={"s6": "六、其他需要报告的事项：本年度未收取信息处理费。"})
        with zipfile.ZipFile(base) as zf:
            members = {i.filename: zf.read(i.filename) for i in zf.infolist()}
        base.unlink()
        self.sst = _share_strings(members)
        members.setdefault(SST, b"")
        self.members = members
        names = re.findall(rb'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', members["xl/workbook.xml"])
        rels = {}
        for el in re.findall(rb"<Relationship [^>]*>", members["xl/_rels/workbook.xml.rels"]):
            rid, target = re.search(rb'Id="([^"]+)"', el), re.search(rb'Target="([^"]+)"', el)
            if rid and target:
                rels[rid.group(1)] = target.group(1)
        part_of = {n.decode(): "xl/" + rels[rid].decode().lstrip("/").removeprefix("xl/") for n, rid in names}
        wanted: dict[str, dict[str, str]] = {}  # part → ref → key
        for s in workbook_layout(spec).sheets:
            for key, (r, c) in s.inputs.items():
                if key in spec.cells or key == "meta.unit_name":
                    wanted.setdefault(part_of[s.name], {})[col_letter(c) + str(r)] = key
        self.parts: dict[str, _Part] = {}
        for part, refs in wanted.items():
            xml = members[part].decode("utf-8")
            pieces, cells, pos = [], [], 0
            for m in re.finditer(r'<c r="([A-Z]+[0-9]+)"([^>]*?)(?:/>|>.*?</c>)', xml):
                if m.group(1) in refs:
                    attrs = re.sub(r'\s+t="[^"]*"', "", m.group(2))
                    pieces.append(xml[pos:m.start()])
                    cells.append((refs[m.group(1)], m.group(1), attrs))
                    pos = m.end()
            pieces.append(xml[pos:])
            self.parts[part] = _Part(pieces, cells)
        self.value_sets = [valid_values(spec, seed) for seed in range(value_sets)]
        self.received = [k for k in spec.cells if k.startswith("t3.received.") and not k.endswith(".total")]
        self.counts = [k for k, c in spec.cells.items() if c.type == "count"]

    def planted(self, i: int) -> str | None:
        """The rule file ``i``'s planted error must raise (None: a valid file)."""
        if i % ERROR_EVERY:
            return None
        return ("T3-IDENTITY", "V-BLANK", "V-NUMBER", "V-INTEGER")[(i // ERROR_EVERY) % 4]

    def values(self, i: int) -> dict[str, object]:
        values: dict[str, object] = dict(self.value_sets[i % len(self.value_sets)])
        values["meta.unit_name"] = f"第{i:05d}镇"
        rule = self.planted(i)
        key = self.counts[(i * 7) % len(self.counts)]
        if rule == "T3-IDENTITY":
            k = self.received[i % len(self.received)]
            values[k] = int(values[k]) + 1  # type: ignore[call-overload]
        elif rule == "V-BLANK":
            values[key] = None
        elif rule == "V-NUMBER":
            values[key] = "无"
        elif rule == "V-INTEGER":
            values[key] = 2.5
        return values

    def write(self, path: Path, i: int) -> None:
        values = self.values(i)
        strings = list(self.sst)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for name, data in self.members.items():
                if name == SST:
                    continue
                if name in self.parts:
                    data = self._sheet(self.parts[name], values, strings, i)
                zf.writestr(name, data)
            body = "".join(f"<si>{s}</si>" for s in strings)
            zf.writestr(SST, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
                        f'openxmlformats.org/spreadsheetml/2006/main" count="{len(strings)}" '
                        f'uniqueCount="{len(strings)}">{body}</sst>')
        path.write_bytes(buf.getvalue())

    def _sheet(self, p: _Part, values: dict[str, object], strings: list[str], i: int) -> bytes:
        head = p.pieces[0]
        if self.varied:  # where this town's clerk last clicked, as Excel saves it
            cell = f"{'ABCDEFGH'[i % 8]}{i % 40 + 2}"
            head = head.replace('activeCell="A1" sqref="A1"', f'activeCell="{cell}" sqref="{cell}"')
        out = [head]
        for (key, ref, attrs), tail in zip(p.cells, p.pieces[1:], strict=True):
            v = values.get(key)
            if v is None:
                out.append(f'<c r="{ref}"{attrs}/>')
            elif isinstance(v, str):
                strings.append(f"<t>{escape(v)}</t>")
                out.append(f'<c r="{ref}"{attrs} t="s"><v>{len(strings) - 1}</v></c>')
            else:
                out.append(f'<c r="{ref}"{attrs}><v>{v}</v></c>')
            out.append(tail)
        return "".join(out).encode("utf-8")


_GEN: Generator | None = None


def _gen_chunk(args: tuple[str, list[int]]) -> None:
    folder, idx = args
    assert _GEN is not None
    for i in idx:
        _GEN.write(Path(folder) / f"town_{i:05d}.xlsx", i)


def make_inbox(folder: Path, n: int, *, jobs: int = 1, varied: bool = True) -> tuple[list[Path], dict[str, str]]:
    """``n`` town workbooks in ``folder`` and, per file name, the rule its planted error raises."""
    global _GEN
    if _GEN is None or _GEN.varied != varied:
        _GEN = Generator(folder, varied=varied)
    chunks = [(str(folder), list(range(i, min(n, i + 200)))) for i in range(0, n, 200)]
    if jobs > 1 and n > 200 and sys.platform.startswith("linux"):
        import multiprocessing

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as ex:
            list(ex.map(_gen_chunk, chunks))
    else:
        for c in chunks:
            _gen_chunk(c)
    planted = {f"town_{i:05d}.xlsx": r for i in range(n) if (r := _GEN.planted(i))}
    return sorted(folder.glob("town_*.xlsx")), planted


def planted_rules(paths: Sequence[Path]) -> dict[str, str]:
    """Per file name, the rule its planted error raises (for inboxes made by :func:`make_inbox`)."""
    assert _GEN is not None
    return {p.name: r for p in paths if (r := _GEN.planted(int(p.stem.split("_")[1])))}
