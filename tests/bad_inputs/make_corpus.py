"""Generate ``tests/bad_inputs/``: hostile and broken submissions, each small and reproducible.

    python tests/bad_inputs/make_corpus.py [OUT_DIR]

Every file is built from the committed 2021 template filled with consistent values (or from
nothing at all), then damaged in one specific way; ``README.md`` lists what each one is. The
expectations (exit code, message) live in ``tests/test_hostile.py``, not here, so the generator
cannot quietly agree with the code it tests.

Deterministic: zip members get a fixed timestamp and order, ``docProps/core.xml`` a fixed date,
random bytes a fixed seed, and the encryption its salt and key from a seeded generator; running
it twice gives identical bytes (checked by the tests). Small: the zip bomb is 150 MB of zeros in
~150 KB, and the whole corpus stays well under 1 MB.

The old-format file is a real OLE2 compound file holding a BIFF8 ``Workbook`` stream, and the
macro workbook carries a real VBA project (MS-OVBA ``dir`` stream and compressed module source)
that ``olevba`` can list — built here byte by byte, since no installed library writes either.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import struct
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EDITION = "2021"
SEED = 2021
PASSWORD = "gxsheet"
ZIP_TIME = (2022, 1, 15, 9, 30, 0)
CORE_TIME = "2022-01-15T09:30:00Z"
MB = 1024 * 1024

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

# sheet parts of the template, in workbook order (checked against workbook.xml below)
SHEETS = {
    "基本信息": "xl/worksheets/sheet1.xml",
    "正文": "xl/worksheets/sheet2.xml",
    "表二": "xl/worksheets/sheet3.xml",
    "表三": "xl/worksheets/sheet4.xml",
    "表四": "xl/worksheets/sheet5.xml",
}

Members = dict[str, bytes]


# =========================================================================== zip helpers


def read_members(data: bytes) -> Members:
    """The members of a zip, in stored order."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def zip_bytes(members: Members, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``members`` with fixed timestamps and attributes: same input, same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = method
            info.create_system = 0
            info.external_attr = 0
            zf.writestr(info, data, compress_type=method, compresslevel=6 if method == zipfile.ZIP_DEFLATED else None)
    return buf.getvalue()


def sub_once(text: str, pattern: str, repl: str, flags: int = 0) -> str:
    """``re.sub`` that must match exactly once: the template changing must fail loudly here."""
    new, n = re.subn(pattern, repl, text, count=0, flags=flags)
    if n != 1:
        raise AssertionError(f"expected one match of {pattern!r}, found {n}")
    return new


def edit(members: Members, part: str, fn: Callable[[str], str]) -> Members:
    out = dict(members)
    out[part] = fn(members[part].decode("utf-8")).encode("utf-8")
    return out


def cell_pattern(ref: str) -> str:
    """Regex for one ``<c r="ref" ...>...</c>`` (or self-closed) element."""
    return rf'<c r="{ref}"(?: [^>]*)?(?:/>|>.*?</c>)'


# =========================================================================== the base report


def filled_report(values: dict[str, object] | None = None, meta: dict[str, object] | None = None) -> Members:
    """A valid, filled 2021 report (``values``/``meta`` override), normalised for determinism."""
    from gxsheet.render.samples import write_sample

    with tempfile.TemporaryDirectory() as tmp:
        path = write_sample(Path(tmp) / "r.xlsx", EDITION, seed=SEED, values=values, meta=meta)
        members = read_members(path.read_bytes())
    core = members["docProps/core.xml"].decode()
    core = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rf"\g<1>{CORE_TIME}\g<2>", core)
    members["docProps/core.xml"] = core.encode()
    wb = members["xl/workbook.xml"].decode()
    names = re.findall(r'<sheet [^>]*name="([^"]+)"', wb)
    if names != list(SHEETS):
        raise AssertionError(f"template sheets changed: {names}")
    return members


def valid_values_for(key: str) -> object:
    """The value ``filled_report`` writes for a value key."""
    from gxsheet.core.spec import load_spec
    from gxsheet.render.samples import valid_values

    return valid_values(load_spec(EDITION), SEED)[key]


def address(key: str) -> tuple[str, str]:
    """(sheet part, A1) of a value key in the 2021 layout."""
    from gxsheet.core.layout import workbook_layout
    from gxsheet.core.spec import load_spec

    sheet, ref = workbook_layout(load_spec(EDITION)).address(key).split("!")
    return SHEETS[sheet], ref


# =========================================================================== OLE2 / BIFF8 / VBA


ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
Tree = dict[str, "bytes | Tree"]


def _cfb_order(name: str) -> tuple[int, str]:
    # sibling order of [MS-CFB] 2.6.4: shorter names first, then upper-cased comparison
    return (len(name), name.upper())


def cfb(tree: Tree) -> bytes:
    """A compound file (MS-CFB version 3, 512-byte sectors) holding ``tree``.

    Values are stream bytes or nested dicts (storages). Streams under 4096 bytes live in the
    mini stream, as Excel writes them; siblings form a chain of black nodes ordered as the
    specification requires, which every reader walks.
    """
    entries: list[dict] = [{"name": "Root Entry", "type": 5, "child": NOSTREAM, "left": NOSTREAM, "right": NOSTREAM}]

    def add(children: Tree) -> int:
        ids = []
        for name in sorted(children, key=_cfb_order):
            value = children[name]
            e = {"name": name, "left": NOSTREAM, "right": NOSTREAM, "child": NOSTREAM}
            entries.append(e)
            ids.append(len(entries) - 1)
            if isinstance(value, dict):
                e["type"] = 1
                e["child"] = add(value)
            else:
                e["type"] = 2
                e["data"] = value
        # a right-leaning chain: first sorted name at the top
        for a, b in zip(ids, ids[1:], strict=False):
            entries[a]["right"] = b
        return ids[0] if ids else NOSTREAM

    entries[0]["child"] = add(tree)

    mini = bytearray()
    minifat: list[int] = []
    big: list[tuple[dict, bytes]] = []
    for e in entries:
        data = e.get("data")
        if data is None:
            continue
        if len(data) < 4096:
            e["start"] = len(minifat) if data else ENDOFCHAIN
            n = -(-len(data) // 64)
            minifat += [len(minifat) + i + 1 for i in range(n)]
            if n:
                minifat[-1] = ENDOFCHAIN
            mini += data.ljust(n * 64, b"\0")
        else:
            big.append((e, data))

    def sectors(n_bytes: int) -> int:
        return -(-n_bytes // 512)

    dir_bytes_n = -(-len(entries) // 4) * 512
    minifat_n = sectors(len(minifat) * 4)
    mini_n = sectors(len(mini))
    big_n = sum(sectors(len(d)) for _, d in big)
    body = sectors(dir_bytes_n) + minifat_n + mini_n + big_n
    fat_n = 1
    while fat_n * 128 < fat_n + body:
        fat_n += 1
    fat: list[int] = [FATSECT] * fat_n

    def chain(count: int) -> int:
        if count == 0:
            return ENDOFCHAIN
        start = len(fat)
        fat.extend(range(start + 1, start + count))
        fat.append(ENDOFCHAIN)
        return start

    dir_start = chain(sectors(dir_bytes_n))
    minifat_start = chain(minifat_n)
    mini_start = chain(mini_n)
    entries[0]["start"] = mini_start if mini else ENDOFCHAIN
    entries[0]["size"] = len(mini)
    for e, data in big:
        e["start"] = chain(sectors(len(data)))
    fat += [FREESECT] * (fat_n * 128 - len(fat))

    def dir_entry(e: dict) -> bytes:
        raw = (e["name"].encode("utf-16-le") + b"\0\0") if e["name"] else b""
        size = e.get("size", len(e.get("data", b"")))
        start = e.get("start", ENDOFCHAIN if e["type"] != 1 else 0)
        return struct.pack(
            "<64sHBBIII16sIQQIQ", raw, len(raw), e["type"], 1, e["left"], e["right"], e["child"],
            bytes(16), 0, 0, 0, start, size,
        )  # fmt: skip

    empty = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, bytes(16), 0, 0, 0, 0, 0)
    directory = b"".join(dir_entry(e) for e in entries).ljust(dir_bytes_n, b"\0")
    directory = directory[: len(entries) * 128] + empty * ((dir_bytes_n - len(entries) * 128) // 128)
    difat = list(range(fat_n)) + [FREESECT] * (109 - fat_n)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII109I",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", bytes(16), 0x3E, 3, 0xFFFE, 9, 6, bytes(6),
        0, fat_n, dir_start, 0, 4096,
        minifat_start if minifat else ENDOFCHAIN, minifat_n, ENDOFCHAIN, 0, *difat,
    )  # fmt: skip
    out = bytearray(header)
    out += struct.pack(f"<{len(fat)}I", *fat)
    out += directory
    out += struct.pack(f"<{len(minifat)}I", *minifat).ljust(minifat_n * 512, b"\xff")
    out += bytes(mini).ljust(mini_n * 512, b"\0")
    for _, data in big:
        out += data.ljust(sectors(len(data)) * 512, b"\0")
    return bytes(out)


def _rec(rtype: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", rtype, len(data)) + data


def _xl_unicode(text: str, short: bool = False) -> bytes:
    raw = text.encode("utf-16-le")
    return struct.pack("<B" if short else "<H", len(text)) + b"\x01" + raw


def biff8_workbook(sheet: str, cells: list[tuple[int, int, str | float]]) -> bytes:
    """A minimal BIFF8 ``Workbook`` stream: one worksheet with text and number cells."""
    bof_globals = _rec(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06))
    font = struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0) + b"\x05\x00Arial"
    style_xf = struct.pack("<HHHBBBBIIH", 0, 0, 0xFFF5, 0x20, 0, 0, 0xF4, 0, 0, 0x20C0)
    cell_xf = struct.pack("<HHHBBBBIIH", 0, 0, 0x0001, 0x20, 0, 0, 0, 0, 0, 0x20C0)
    head = (
        bof_globals
        + _rec(0x0042, struct.pack("<H", 1200))  # CODEPAGE: UTF-16
        + _rec(0x003D, struct.pack("<HHHHHHHHH", 0, 0, 0x3000, 0x2000, 0x38, 0, 0, 1, 0x258))  # WINDOW1
        + _rec(0x0031, font) * 4  # FONT x4 (index 4 is never used, as in Excel)
        + _rec(0x00E0, style_xf) * 15
        + _rec(0x00E0, cell_xf)
        + _rec(0x0293, struct.pack("<HBB", 0x8000, 0, 0xFF))  # STYLE: Normal
    )
    boundsheet_len = len(_rec(0x0085, struct.pack("<IBB", 0, 0, 0) + _xl_unicode(sheet, short=True)))
    eof = _rec(0x000A)
    sheet_pos = len(head) + boundsheet_len + len(eof)
    globals_ = head + _rec(0x0085, struct.pack("<IBB", sheet_pos, 0, 0) + _xl_unicode(sheet, short=True)) + eof
    max_row = max(r for r, _, _ in cells) + 1
    max_col = max(c for _, c, _ in cells) + 1
    body = _rec(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0x06))
    body += _rec(0x0200, struct.pack("<IIHHH", 0, max_row, 0, max_col, 0))  # DIMENSIONS
    for r, c, v in cells:
        if isinstance(v, str):
            body += _rec(0x0204, struct.pack("<HHH", r, c, 15) + _xl_unicode(v))  # LABEL
        else:
            body += _rec(0x0203, struct.pack("<HHHd", r, c, 15, v))  # NUMBER
    body += _rec(0x023E, struct.pack("<HHHH", 0x06B6, 0, 0, 0x40) + bytes(10))  # WINDOW2
    body += eof
    if len(globals_) != sheet_pos:
        raise AssertionError("BOUNDSHEET offset")
    return globals_ + body


def ovba_compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1 compression using literal tokens only (valid, just not smaller)."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), 4096):
        chunk = data[start : start + 4096]
        body = bytearray()
        for i in range(0, len(chunk), 8):
            body += b"\x00" + chunk[i : i + 8]
        if len(body) + 2 <= 4098:
            out += struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body
        else:  # an uncompressed chunk is exactly 4096 bytes
            out += struct.pack("<H", 0x3000 | (4098 - 3)) + chunk.ljust(4096, b"\0")
    return bytes(out)


def vba_project(module: str, source: str) -> bytes:
    """``vbaProject.bin``: a VBA project with one document module holding ``source``."""

    def r(rid: int, data: bytes) -> bytes:
        return struct.pack("<HI", rid, len(data)) + data

    name = b"VBAProject"
    mod = module.encode("ascii")
    mod_u = module.encode("utf-16-le")
    d = (
        r(0x0001, struct.pack("<I", 1))  # PROJECTSYSKIND: win32
        + r(0x0002, struct.pack("<I", 0x409))  # PROJECTLCID
        + r(0x0014, struct.pack("<I", 0x409))  # PROJECTLCIDINVOKE
        + r(0x0003, struct.pack("<H", 1252))  # PROJECTCODEPAGE
        + r(0x0004, name)  # PROJECTNAME
        + r(0x0005, b"") + r(0x0040, b"")  # PROJECTDOCSTRING (+ unicode)
        + r(0x0006, b"") + r(0x003D, b"")  # PROJECTHELPFILEPATH (x2)
        + r(0x0007, struct.pack("<I", 0))  # PROJECTHELPCONTEXT
        + r(0x0008, struct.pack("<I", 0))  # PROJECTLIBFLAGS
        + struct.pack("<HIIH", 0x0009, 4, 1, 0)  # PROJECTVERSION
        + r(0x000C, b"") + r(0x003C, b"")  # PROJECTCONSTANTS (+ unicode)
        + r(0x000F, struct.pack("<H", 1))  # PROJECTMODULES: count
        + r(0x0013, struct.pack("<H", 0xFFFF))  # PROJECTCOOKIE
        + r(0x0019, mod) + r(0x0047, mod_u)  # MODULENAME (+ unicode)
        + r(0x001A, mod) + r(0x0032, mod_u)  # MODULESTREAMNAME (+ unicode)
        + r(0x001C, b"") + r(0x0048, b"")  # MODULEDOCSTRING (+ unicode)
        + r(0x0031, struct.pack("<I", 0))  # MODULEOFFSET: source starts at 0
        + r(0x001E, struct.pack("<I", 0))  # MODULEHELPCONTEXT
        + r(0x002C, struct.pack("<H", 0xFFFF))  # MODULECOOKIE
        + r(0x0022, b"")  # MODULETYPE: document/class module
        + r(0x002B, b"")  # module terminator
        + r(0x0010, b"")  # dir terminator
    )  # fmt: skip
    project = (
        f'ID="{{00000000-0000-0000-0000-000000000000}}"\r\nDocument={module}/&H00000000\r\n'
        'Name="VBAProject"\r\nHelpContextID="0"\r\nVersionCompatible32="393222000"\r\nCMG=""\r\nDPB=""\r\nGC=""\r\n\r\n'
        f"[Host Extender Info]\r\n&H00000001={{3832D640-CF90-11CF-8E43-00A0C911005A}};VBE;&H00000000\r\n\r\n"
        f"[Workspace]\r\n{module}=0, 0, 0, 0, C\r\n"
    ).encode("ascii")
    vba_header = struct.pack("<HHBH", 0x61CC, 0xFFFF, 0, 0)
    return cfb(
        {
            "VBA": {
                "dir": ovba_compress(d),
                module: ovba_compress(source.encode("cp1252")),
                "_VBA_PROJECT": vba_header,
            },
            "PROJECT": project,
            "PROJECTwm": mod + b"\0" + mod_u + b"\0\0" + b"\0\0",
        }
    )


MACRO_SOURCE = (
    'Attribute VB_Name = "ThisWorkbook"\r\n'
    'Attribute VB_Base = "0{00020819-0000-0000-C000-000000000046}"\r\n'
    "Attribute VB_GlobalNameSpace = False\r\nAttribute VB_Creatable = False\r\n"
    "Attribute VB_PredeclaredId = True\r\nAttribute VB_Exposed = True\r\nAttribute VB_TemplateDerived = False\r\n"
    "Attribute VB_Customizable = True\r\n"
    "Private Sub Workbook_Open()\r\n"
    "    ' gxsheet must never run this: it only reads the cells\r\n"
    '    Shell "cmd /c echo gxsheet-ran-a-macro > %TEMP%\\gxsheet-macro-ran.txt"\r\n'
    "End Sub\r\n"
)


# =========================================================================== the cases


def case_empty() -> bytes:
    return b""


def case_random_bytes() -> bytes:
    data = random.Random(SEED).randbytes(4096)
    assert not data.startswith((b"PK", b"\xd0\xcf"))
    return data


def case_truncated() -> bytes:
    data = zip_bytes(filled_report())
    return data[: len(data) * 2 // 3]


def case_renamed_xls() -> bytes:
    cells: list[tuple[int, int, str | float]] = [
        (0, 0, "政府信息公开工作年度报告"),
        (1, 0, "本年新收政府信息公开申请数量"),
        (1, 1, 12.0),
    ]
    summary = b"\xfe\xff\x00\x00" + bytes(24)  # an (empty) property-set header, as Excel writes
    return cfb({"Workbook": biff8_workbook("Sheet1", cells), "\x05SummaryInformation": summary})


def case_encrypted() -> bytes:
    """Encrypted the way Excel does it ("Encrypt with Password": ECMA-376 agile, in an OLE2 file)."""
    import datetime as dt

    import msoffcrypto.method.container.ecma376_encrypted as container
    import msoffcrypto.method.ecma376_agile as agile
    from msoffcrypto.format.ooxml import OOXMLFile

    class FixedNow(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> FixedNow:
            return cls(*ZIP_TIME)

    rng = random.Random(SEED)
    saved = agile._random_buffer, container.datetime
    agile._random_buffer = rng.randbytes  # fixed salt and key ...
    container.datetime = FixedNow  # ... and directory timestamps: reproducible bytes
    try:
        out = io.BytesIO()
        OOXMLFile(io.BytesIO(zip_bytes(filled_report()))).encrypt(PASSWORD, out)
    finally:
        agile._random_buffer, container.datetime = saved
    return out.getvalue()


def case_zip_bomb() -> bytes:
    """150 MB of zeros as the 表三 sheet: ~150 KB on disk, 1000:1."""
    members = filled_report()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            if name == SHEETS["表三"]:
                with zf.open(info, "w") as out:
                    block = b"\0" * MB
                    for _ in range(150):
                        out.write(block)
            else:
                zf.writestr(info, data)
    return buf.getvalue()


BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE worksheet [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n"
)


def strip_declaration(xml: str) -> str:
    """``xml`` without its ``<?xml ...?>`` line, so another prolog can go in front."""
    return xml.split("?>", 1)[1].lstrip() if xml.startswith("<?xml") else xml


def case_billion_laughs() -> bytes:
    """表三 declares nine levels of nested entities (10^9 "lol"s) and uses the last in A1."""

    def bomb(xml: str) -> str:
        body = sub_once(
            strip_declaration(xml), cell_pattern("A1"), '<c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c>'
        )
        return BILLION_LAUGHS + body

    return zip_bytes(edit(filled_report(), SHEETS["表三"], bomb))


XXE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY net SYSTEM "http://127.0.0.1:9/gxsheet-xxe">]>\n'
)


def case_xxe() -> bytes:
    def inject(xml: str) -> str:
        return XXE + sub_once(strip_declaration(xml), r'name="基本信息"', 'name="基本信息&xxe;&net;"')

    return zip_bytes(edit(filled_report(), "xl/workbook.xml", inject))


def case_styles_doctype() -> bytes:
    """The DOCTYPE sits in styles.xml, a part gxsheet never parses (but openpyxl does)."""

    def inject(xml: str) -> str:
        return XXE.replace("DOCTYPE workbook", "DOCTYPE styleSheet") + strip_declaration(xml)

    return zip_bytes(edit(filled_report(), "xl/styles.xml", inject))


def case_million_rows() -> bytes:
    """Row 1,048,576 touched on 表三: the dimension says so and the row is there (formatted, empty)."""

    def far(xml: str) -> str:
        xml = sub_once(xml, r'<dimension ref="[^"]*"/>', '<dimension ref="A1:L1048576"/>')
        return sub_once(xml, r"</sheetData>", '<row r="1048576"><c r="A1048576" s="1"/></row></sheetData>')

    return zip_bytes(edit(filled_report(), SHEETS["表三"], far))


def case_far_cell_no_dimension() -> bytes:
    """One formatted empty cell at XFD1048576 and no ``<dimension>``: only the cell gives it away."""

    def far(xml: str) -> str:
        xml = sub_once(xml, r'<dimension ref="[^"]*"/>', "")
        return sub_once(xml, r"</sheetData>", '<row r="1048576"><c r="XFD1048576" s="1"/></row></sheetData>')

    return zip_bytes(edit(filled_report(), SHEETS["表三"], far))


def case_understated_size() -> bytes:
    """docProps/core.xml: 50 MB of spaces declared as ~100 KB, CRC forged for the cut-off prefix.

    Every limit on declared sizes passes, and zipfile's CRC check would pass at the declared
    size; openpyxl (``--annotate``) would still inflate all 50 MB in one call.
    """
    members = filled_report()
    target = "docProps/core.xml"
    big = members[target] + b" " * (50 * MB)
    blob = bytearray(zip_bytes({**members, target: big}))
    with zipfile.ZipFile(io.BytesIO(bytes(blob))) as zf:
        info = zf.getinfo(target)
    declared = 2 * info.compress_size
    crc = zlib.crc32(big[:declared])
    struct.pack_into("<III", blob, info.header_offset + 14, crc, info.compress_size, declared)
    central = blob.find(b"PK\x01\x02")
    while central >= 0:
        n = struct.unpack_from("<H", blob, central + 28)[0]
        if bytes(blob[central + 46 : central + 46 + n]) == target.encode():
            break
        central = blob.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<III", blob, central + 16, crc, info.compress_size, declared)
    return bytes(blob)


def case_unusual_compression() -> bytes:
    """A workbook whose members are bzip2-compressed: valid zip, but nothing Excel or WPS writes."""
    return zip_bytes(filled_report(), method=zipfile.ZIP_BZIP2)


def case_text_renamed() -> bytes:
    return "\ufeff单位名称,本年新收申请数量\n城关镇,12\n东城街道,7\n".encode()


def case_no_report_sheets() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws["A1"] = "城关镇2021年政府信息公开统计"
    ws["A2"], ws["B2"] = "本年新收申请数量", 12
    buf = io.BytesIO()
    wb.save(buf)
    members = read_members(buf.getvalue())
    core = members["docProps/core.xml"].decode()
    members["docProps/core.xml"] = re.sub(
        r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rf"\g<1>{CORE_TIME}\g<2>", core
    ).encode()
    return zip_bytes(members)


def case_macro() -> bytes:
    """A valid report saved as .xlsm with a Workbook_Open macro (never run, never kept)."""
    members = filled_report()
    members["xl/vbaProject.bin"] = vba_project("ThisWorkbook", MACRO_SOURCE)

    def types(xml: str) -> str:
        xml = xml.replace(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        )
        return sub_once(
            xml, r"(<Types[^>]*>)", r'\1<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
        )

    def rels(xml: str) -> str:
        rel = '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>'
        return sub_once(xml, r"</Relationships>", rel + "</Relationships>")

    members = edit(members, "[Content_Types].xml", types)
    members = edit(members, "xl/_rels/workbook.xml.rels", rels)
    members = edit(
        members, "xl/workbook.xml", lambda x: sub_once(x, r"<workbookPr/>", '<workbookPr codeName="ThisWorkbook"/>')
    )
    return zip_bytes(members)


EXTERNAL_TARGET = "file:///C:/%E5%86%85%E9%83%A8%E8%B5%84%E6%96%99/%E5%85%B6%E4%BB%96%E5%8D%95%E4%BD%8D.xlsx"


def case_external_link() -> bytes:
    """Two 表三 cells are formulas on another workbook: one with a cached result, one without."""
    from gxsheet.core.spec import load_spec
    from gxsheet.render.samples import valid_values

    values = valid_values(load_spec(EDITION), SEED)
    part, cached_ref = address("t3.received.natural")
    _, bare_ref = address("t3.received.business")
    cached = values["t3.received.natural"]

    def sheet(xml: str) -> str:
        xml = sub_once(xml, cell_pattern(cached_ref), f'<c r="{cached_ref}"><f>[1]Sheet1!$A$1</f><v>{cached}</v></c>')
        return sub_once(xml, cell_pattern(bare_ref), f'<c r="{bare_ref}"><f>[1]Sheet1!$A$2</f></c>')

    members = edit(filled_report(), part, sheet)
    members["xl/externalLinks/externalLink1.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<externalLink xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        '<externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames><sheetDataSet>'
        f'<sheetData sheetId="0"><row r="1"><cell r="A1"><v>{cached}</v></cell></row></sheetData>'
        "</sheetDataSet></externalBook></externalLink>"
    ).encode()
    members["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL_NS}">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath"'
        f' Target="{EXTERNAL_TARGET}" TargetMode="External"/></Relationships>'
    ).encode()

    def wb(xml: str) -> str:
        refs = '</sheets><externalReferences><externalReference r:id="rIdExt1"/></externalReferences>'
        xml = sub_once(xml, r"</sheets>", refs)
        # as Excel saves it: no full recalculation asked for, so the cached result is Excel's own
        # (openpyxl's fullCalcOnLoad would make it a placeholder, which gxsheet never trusts)
        xml = xml.replace(' fullCalcOnLoad="1"', "")
        root = xml[xml.index("<workbook") :].split(">", 1)[0]
        return xml if "xmlns:r=" in root else xml.replace("<workbook ", f'<workbook xmlns:r="{REL_NS}" ', 1)

    def rels(xml: str) -> str:
        rel = ('<Relationship Id="rIdExt1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink"'
               ' Target="externalLinks/externalLink1.xml"/>')  # fmt: skip
        return sub_once(xml, r"</Relationships>", rel + "</Relationships>")

    def types(xml: str) -> str:
        over = ('<Override PartName="/xl/externalLinks/externalLink1.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/>')  # fmt: skip
        return sub_once(xml, r"</Types>", over + "</Types>")

    members = edit(members, "xl/workbook.xml", wb)
    members = edit(members, "xl/_rels/workbook.xml.rels", rels)
    members = edit(members, "[Content_Types].xml", types)
    return zip_bytes(members)


def case_dde_formula() -> bytes:
    """A DDE formula in a value cell and a formula-looking unit name: text to us, never live anywhere."""
    part, ref = address("t3.received.natural")
    members = filled_report(meta={"unit_name": '=HYPERLINK("http://127.0.0.1:9/","点击查看")'})
    return zip_bytes(
        edit(members, part, lambda x: sub_once(x, cell_pattern(ref), f"<c r=\"{ref}\"><f>cmd|' /C calc'!A0</f></c>"))
    )


def case_merged_cells_broken() -> bytes:
    """Headers unmerged on every table, and overlapping merges added on 表三."""
    members = filled_report()
    for sheet in ("表二", "表三", "表四"):
        members = edit(
            members, SHEETS[sheet], lambda x: re.sub(r"<mergeCells[^>]*>.*?</mergeCells>", "", x, flags=re.S)
        )
    overlapping = (
        '<mergeCells count="3"><mergeCell ref="D5:F6"/><mergeCell ref="E6:G7"/><mergeCell ref="A1:L1"/></mergeCells>'
    )
    return zip_bytes(
        edit(members, SHEETS["表三"], lambda x: sub_once(x, r"</sheetData>", "</sheetData>" + overlapping))
    )


def case_long_text() -> bytes:
    """20,000 characters in a number cell."""
    text = ("本单位本年度共收到申请若干件，详见附件说明。" * 1000)[:20_000]
    return zip_bytes(filled_report(values={"t3.received.natural": text}))


def case_sheet_renamed() -> bytes:
    """表三 renamed to Sheet3 the way Excel does it: references in formulas follow the new name."""
    members = filled_report()
    for part in ["xl/workbook.xml", *SHEETS.values()]:
        members = edit(members, part, lambda x: x.replace("'表三'!", "Sheet3!").replace("表三!", "Sheet3!"))
    return zip_bytes(edit(members, "xl/workbook.xml", lambda x: sub_once(x, r'name="表三"', 'name="Sheet3"')))


def case_sheet_deleted() -> bytes:
    """表四 deleted the way Excel does it: references to it in other sheets become #REF!."""
    members = filled_report()
    ref = r"(?:'表四'|表四)!\$?[A-Z]{1,3}\$?[0-9]+(?::\$?[A-Z]{1,3}\$?[0-9]+)?"
    for part in SHEETS.values():
        members = edit(members, part, lambda x: re.sub(ref, "#REF!", x))
    del members[SHEETS["表四"]]

    def wb(xml: str) -> str:
        xml = sub_once(xml, r'<sheet [^>]*name="表四"[^>]*/>', "")
        return re.sub(r'<definedName [^>]*localSheetId="4"[^>]*>[^<]*</definedName>', "", xml)

    members = edit(members, "xl/workbook.xml", wb)
    members = edit(
        members, "xl/_rels/workbook.xml.rels", lambda x: sub_once(x, r'<Relationship [^>]*sheet5\.xml"[^>]*/>', "")
    )
    members = edit(
        members,
        "[Content_Types].xml",
        lambda x: sub_once(x, r'<Override PartName="/xl/worksheets/sheet5\.xml"[^>]*/>', ""),
    )
    return zip_bytes(members)


# ---- the second round (issue 14): text that must stay text, work that must stay bounded


def xml_text(text: str) -> str:
    """Cell text as Excel stores it: XML-escaped, characters XML 1.0 forbids as ``_xHHHH_``."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", lambda m: f"_x{ord(m[0]):04X}_", out)


def with_text(members: Members, key: str, text: str) -> Members:
    """The cell of ``key`` (a value, ``meta.*`` or ``prose.*`` key) holding ``text`` as typed text."""
    part, ref = address(key)
    cell = f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{xml_text(text)}</t></is></c>'
    return edit(members, part, lambda x: sub_once(x, cell_pattern(ref), cell))


HYPERLINK = '=HYPERLINK("http://127.0.0.1:9/","点我查看")'
SHEET_FORMULA = '=HYPERLINK("x"&CHAR(58),"y")'
FORGED_NAME = "城关镇\n✓ 东城街道.xlsx — 东城街道 2021年（2021版）：通过"


def case_parent_hyperlink() -> bytes:
    """上级单位 typed as the text =HYPERLINK(…): the county report's 单位名称 comes from it."""
    return zip_bytes(with_text(with_text(filled_report(), "meta.parent", HYPERLINK), "meta.unit_name", "城关镇"))


def case_sheet_named_formula() -> bytes:
    """表三 renamed =HYPERLINK("x"&CHAR(58),"y") (Excel allows it): the name lands in messages."""
    members = filled_report()
    quoted = ("'" + SHEET_FORMULA.replace("'", "''") + "'!").replace("&", "&amp;")  # inside <f> text
    for part in ["xl/workbook.xml", *SHEETS.values()]:
        members = edit(members, part, lambda x: x.replace("'表三'!", quoted).replace("表三!", quoted))
    escaped = SHEET_FORMULA.replace("&", "&amp;").replace('"', "&quot;")
    return zip_bytes(edit(members, "xl/workbook.xml", lambda x: sub_once(x, r'name="表三"', f'name="{escaped}"')))


def case_formula_chain() -> bytes:
    """A value cell whose formula (no cached value) goes 40 levels deep, each level naming the next
    three times: 3**40 steps unless each cell is computed once. The last level holds the value."""
    value = valid_values_for("t3.received.natural")
    part, ref = address("t3.received.natural")

    def chain(xml: str) -> str:
        xml = sub_once(xml, cell_pattern(ref), f'<c r="{ref}"><f>Z901+Z901-Z901</f></c>')
        rows = "".join(f'<row r="{r}"><c r="Z{r}"><f>Z{r + 1}+Z{r + 1}-Z{r + 1}</f></c></row>' for r in range(901, 940))
        xml = re.sub(r'<dimension ref="[^"]*"/>', "", xml)
        return sub_once(xml, "</sheetData>", rows + f'<row r="940"><c r="Z940"><v>{value}</v></c></row></sheetData>')

    return zip_bytes(edit(filled_report(), part, chain))


def case_formula_huge_number() -> bytes:
    """A value cell =1 followed by 400 zeros, without a cached value: no double holds it."""
    part, ref = address("t3.received.natural")
    return zip_bytes(edit(filled_report(), part,
                          lambda x: sub_once(x, cell_pattern(ref), f'<c r="{ref}"><f>1{"0" * 400}</f></c>')))


CONTROL_NAME = "城关镇\x01\x1b[31m红色"
CONTROL_PARENT = "某县\x1b]8;;http://127.0.0.1:9/\x07点我\x1b]8;;\x07"


def case_control_characters() -> bytes:
    """U+0001 and terminal escape sequences (ESC [ …, an OSC 8 hyperlink) in 单位名称, 上级单位 and prose."""
    members = with_text(filled_report(), "meta.unit_name", CONTROL_NAME)
    members = with_text(members, "meta.parent", CONTROL_PARENT)
    return zip_bytes(with_text(members, "prose.s1", "本年度\x1b[2J\x1b[H工作概况：\x00_x0007_正常。"))


def case_superscript() -> bytes:
    """"9²" in a value cell: Unicode normalisation would make it 92."""
    return zip_bytes(with_text(filled_report(), "t3.received.natural", "9²"))


INVISIBLE_LABEL_KEY = "t3.received.natural"


def case_invisible_marks() -> bytes:
    """A value typed with a left-to-right mark and a zero-width space around its digits, and a
    table label with a zero-width space and a bidi isolate inside: the same label (no S-LABEL);
    the value is text in a number cell (number-as-text, the marks shown escaped in the message)."""
    value = valid_values_for("t3.received.natural")
    members = with_text(filled_report(), "t3.received.natural", f"\u200e{value}\u200b")
    label = "本年新收政府信息公开申请数量"
    as_written = "".join(f"&#{ord(c)};" for c in label)  # openpyxl writes CJK text as character references
    marked = "本年新收\u200b政府信息公开\u2066申请\u2069数量"
    return zip_bytes(edit(members, SHEETS["表三"], lambda x: sub_once(x, re.escape(as_written), marked)))


def case_newline_in_name() -> bytes:
    """单位名称 with a newline and a fake result line: piped output must stay one line per file."""
    return zip_bytes(with_text(filled_report(), "meta.unit_name", FORGED_NAME))


def case_merge_lookalike() -> bytes:
    """A town's valid report that also has sheets named 汇总 and 问题清单, like a county workbook."""
    members = filled_report()
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>备注</t></is></c>'
             "</row></sheetData></worksheet>").encode()
    members["xl/worksheets/sheet6.xml"] = sheet
    members["xl/worksheets/sheet7.xml"] = sheet

    def wb(xml: str) -> str:
        extra = '<sheet name="汇总" sheetId="60" r:id="rIdX6"/><sheet name="问题清单" sheetId="61" r:id="rIdX7"/>'
        xml = sub_once(xml, "</sheets>", extra + "</sheets>")
        root = xml[xml.index("<workbook"):].split(">", 1)[0]
        return xml if "xmlns:r=" in root else xml.replace("<workbook ", f'<workbook xmlns:r="{REL_NS}" ', 1)

    def rels(xml: str) -> str:
        extra = "".join(f'<Relationship Id="rIdX{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                        for i in (6, 7))
        return sub_once(xml, "</Relationships>", extra + "</Relationships>")

    def types(xml: str) -> str:
        extra = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in (6, 7))
        return sub_once(xml, "</Types>", extra + "</Types>")

    members = edit(members, "xl/workbook.xml", wb)
    members = edit(members, "xl/_rels/workbook.xml.rels", rels)
    return zip_bytes(edit(members, "[Content_Types].xml", types))


def case_good_chinese_name() -> bytes:
    return zip_bytes(filled_report())


def case_damaged_chinese_name() -> bytes:
    return case_truncated()


#: file name → (builder, what it is)
CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty.xlsx": (case_empty, "0 字节的文件 / a 0-byte file"),
    "random-bytes.xlsx": (case_random_bytes, "4 KB 随机字节 / 4 KB of random bytes"),
    "truncated.xlsx": (
        case_truncated,
        "下载中断的报表（截去后三分之一）/ a report cut off after two thirds (half-downloaded)",
    ),
    "renamed-from-xls.xlsx": (
        case_renamed_xls,
        "真正的 Excel 97-2003 文件（OLE2 + BIFF8）改名为 .xlsx / a real .xls renamed",
    ),
    "encrypted.xlsx": (case_encrypted, f"设置了打开密码（{PASSWORD}）的报表 / a password-protected report"),
    "zip-bomb.xlsx": (case_zip_bomb, "表三解压后 150 MB / 表三 inflates to 150 MB"),
    "billion-laughs.xlsx": (case_billion_laughs, "表三含实体炸弹 / entity expansion in 表三"),
    "xxe.xlsx": (case_xxe, "workbook.xml 引用外部实体 / external entities in workbook.xml"),
    "styles-doctype.xlsx": (
        case_styles_doctype,
        "styles.xml（gxsheet 不读的部件）含 DOCTYPE / a DOCTYPE in a part gxsheet never reads",
    ),
    "million-rows.xlsx": (case_million_rows, "表三第 1,048,576 行被动过 / row 1,048,576 of 表三 touched"),
    "far-cell-no-dimension.xlsx": (
        case_far_cell_no_dimension,
        "XFD1048576 有空白格式，无 dimension / an empty formatted cell at XFD1048576",
    ),
    "understated-size.xlsx": (
        case_understated_size,
        "部件声明大小偏小、CRC 伪造 / a member whose header understates its size",
    ),
    "unusual-compression.xlsx": (case_unusual_compression, "bzip2 压缩的部件 / bzip2-compressed members"),
    "text-renamed.xlsx": (case_text_renamed, "CSV 文本改名为 .xlsx / CSV text renamed .xlsx"),
    "no-report-sheets.xlsx": (case_no_report_sheets, "普通工作簿，没有年报工作表 / a workbook without report sheets"),
    "macro.xlsm": (case_macro, "含 Workbook_Open 宏的有效报表 / a valid report with a Workbook_Open macro"),
    "external-link.xlsx": (case_external_link, "表三两格引用外部工作簿（一格有缓存值）/ formulas on another workbook"),
    "dde-formula.xlsx": (case_dde_formula, "DDE 公式与形似公式的单位名称 / a DDE formula and a formula-like unit name"),
    "merged-cells-broken.xlsx": (
        case_merged_cells_broken,
        "表头合并单元格被拆开、另有重叠合并 / headers unmerged, overlapping merges",
    ),
    "long-text-in-number-cell.xlsx": (case_long_text, "数字格里 20,000 字的文字 / 20,000 characters in a number cell"),
    "sheet-renamed.xlsx": (case_sheet_renamed, "表三改名为 Sheet3 / 表三 renamed Sheet3"),
    "sheet-deleted.xlsx": (case_sheet_deleted, "表四被删除 / 表四 deleted"),
    "城关镇 2021年 年报（终稿）.xlsx": (
        case_good_chinese_name,
        "文件名含中文和空格的有效报表 / a valid report with Chinese and spaces in its name",
    ),
    "损坏 的 报表（副本）.xlsx": (
        case_damaged_chinese_name,
        "文件名含中文和空格的损坏报表 / a damaged report with Chinese and spaces in its name",
    ),
    "parent-hyperlink.xlsx": (case_parent_hyperlink, "上级单位是文字 =HYPERLINK(…) / 上级单位 is the text =HYPERLINK(…)"),
    "sheet-named-formula.xlsx": (
        case_sheet_named_formula,
        "表三改名为 =HYPERLINK(\"x\"&CHAR(58),\"y\") / 表三 renamed to a formula",
    ),
    "formula-chain.xlsx": (
        case_formula_chain,
        "无缓存值的公式嵌套 40 层、每层引用下一层 3 次 / a 40-deep formula chain without cached values",
    ),
    "formula-huge-number.xlsx": (
        case_formula_huge_number,
        "无缓存值的公式 =1 后跟 400 个 0 / a formula =1 with 400 zeros, no cached value",
    ),
    "control-characters.xlsx": (
        case_control_characters,
        "单位名称、上级单位、正文含 U+0001 和终端转义序列 / U+0001 and terminal escapes in names and prose",
    ),
    "superscript.xlsx": (case_superscript, "数字格里写着“9²” / \"9²\" in a number cell"),
    "invisible-marks.xlsx": (
        case_invisible_marks,
        "数字和标签中夹有零宽字符和双向控制符 / zero-width and bidi marks in a number and a label",
    ),
    "newline-in-name.xlsx": (case_newline_in_name, "单位名称含换行和伪造的结果行 / a newline and a forged line in 单位名称"),
    "merge-lookalike.xlsx": (
        case_merge_lookalike,
        "有效报表另含“汇总”“问题清单”工作表 / a valid report that also has sheets 汇总 and 问题清单",
    ),
}


def build(out_dir: Path) -> list[Path]:
    """Write every case (and README.md) to ``out_dir``; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (builder, _) in CASES.items():
        path = out_dir / name
        path.write_bytes(builder())
        written.append(path)
    lines = [
        "# 恶意与损坏输入样本 / hostile and broken inputs",
        "",
        "由 `make_corpus.py` 生成，请勿手工修改；预期结果见 `tests/test_hostile.py`。",
        "Generated by `make_corpus.py` (do not edit by hand); expectations are in `tests/test_hostile.py`.",
        "",
        "| 文件 / file | 大小 / bytes | 内容 / what |",
        "|---|---:|---|",
    ]
    lines += [f"| `{name}` | {(out_dir / name).stat().st_size} | {what} |" for name, (_, what) in CASES.items()]
    (out_dir / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else HERE
    for p in out.glob("*"):
        if p.is_file() and p.name not in ("make_corpus.py",) and p.suffix in (".xlsx", ".xlsm", ".md"):
            p.unlink()
    files = build(out)
    total = sum(p.stat().st_size for p in files)
    print(f"wrote {len(files)} files, {total / 1024:.0f} KB, to {out}")
    return 0


if __name__ == "__main__":
    shutil.disk_usage(HERE)  # fail early on a missing folder
    sys.exit(main(sys.argv))
