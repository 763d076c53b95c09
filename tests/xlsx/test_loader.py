"""gxsheet.xlsx.loader: content sniffing and every refusal, each fast and with bounded memory.

Hostile files are generated small: the 200 MB zip bomb is streamed into a ~200 KB zip,
XML attacks are a few hundred bytes, the "too large" file is sparse.  Each refusal must
come back in well under 10 s with a modest tracemalloc peak and the right ``kind``.
"""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
import struct
import sys
import time
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from gxsheet.core.errors import LoadError
from gxsheet.core.limits import DEFAULT_LIMITS, Limits
from gxsheet.xlsx.loader import Package, new_parser, open_package, sniff
from gxsheet.xlsx.workbook import read_workbook

MB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# --------------------------------------------------------------------------- factories


def make_xlsx(path: Path, rows: int = 3) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表1"
    ws["A1"] = "名称"
    for r in range(2, rows + 2):
        ws.cell(r, 1, f"项{r}")
        ws.cell(r, 2, r * 10)
    wb.save(path)
    return path


def rewrite(src: Path, dst: Path, replace: dict[str, bytes | str] | None = None, drop: tuple[str, ...] = ()) -> Path:
    """Copy a zip, replacing/adding members (str is UTF-8 encoded) and dropping others."""
    replace = dict(replace or {})
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop or info.filename in replace:
                continue
            zout.writestr(info.filename, zin.read(info.filename))
        for name, data in replace.items():
            zout.writestr(name, data.encode("utf-8") if isinstance(data, str) else data)
    return dst


def stream_member(src: Path, dst: Path, member: str, megabytes: int) -> Path:
    """Copy ``src`` with ``member`` replaced by ``megabytes`` MB of zeros, written in 1 MB
    chunks so the test itself never holds more than a megabyte."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != member:
                zout.writestr(info.filename, zin.read(info.filename))
        chunk = bytes(MB)
        with zout.open(member, "w") as out:
            for _ in range(megabytes):
                out.write(chunk)
    return dst


def patch_sizes(path: Path, member: str, *, uncompressed: int | None = None, flag_bits: int | None = None) -> None:
    """Forge a member's declared size / flags in both its local and central headers."""
    blob = bytearray(path.read_bytes())
    name = member.encode()
    with zipfile.ZipFile(path) as zf:
        local = zf.getinfo(member).header_offset
    central = blob.find(b"PK\x01\x02", 0)
    while central >= 0:
        n = struct.unpack_from("<H", blob, central + 28)[0]
        if blob[central + 46 : central + 46 + n] == name:
            break
        central = blob.find(b"PK\x01\x02", central + 4)
    assert central >= 0
    if uncompressed is not None:
        struct.pack_into("<I", blob, central + 24, uncompressed)
        struct.pack_into("<I", blob, local + 22, uncompressed)
    if flag_bits is not None:
        struct.pack_into("<H", blob, central + 8, flag_bits)
        struct.pack_into("<H", blob, local + 6, flag_bits)
    path.write_bytes(bytes(blob))


def make_ole(path: Path, streams: dict[str, bytes]) -> Path:
    """A minimal OLE2 compound file (v3, 512-byte sectors) holding up to three streams.

    Enough for content sniffing: a 'Workbook' stream makes an .xls, EncryptionInfo +
    EncryptedPackage an encrypted OOXML workbook, 'WordDocument' a .doc.
    """
    endofchain, freesect, fatsect, nostream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    names = list(streams)
    assert len(names) <= 3
    datas = [streams[n].ljust(4096, b"\0") for n in names]  # >= cutoff: no mini stream
    fat = [fatsect, endofchain]  # sector 0: FAT, sector 1: directory
    starts = []
    for data in datas:
        count = -(-len(data) // 512)
        starts.append(len(fat))
        fat.extend(range(len(fat) + 1, len(fat) + count))
        fat.append(endofchain)
    assert len(fat) <= 128
    fat += [freesect] * (128 - len(fat))

    def entry(
        name: str, kind: int, *, child: int = nostream, right: int = nostream, start: int = endofchain, size: int = 0
    ) -> bytes:
        raw = (name.encode("utf-16-le") + b"\0\0") if name else b""
        return struct.pack(
            "<64sHBBIII16sIQQIQ", raw, len(raw), kind, 1, nostream, right, child, bytes(16), 0, 0, 0, start, size
        )

    entries = [entry("Root Entry", 5, child=1 if names else nostream)]
    for i, data in enumerate(datas):
        entries.append(
            entry(names[i], 2, right=i + 2 if i + 1 < len(names) else nostream, start=starts[i], size=len(data))
        )
    entries += [entry("", 0)] * (4 - len(entries))
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", bytes(16), 0x3E, 3, 0xFFFE, 9, 6, bytes(6),
        0, 1, 1, 0, 4096, endofchain, 0, endofchain, 0,
    ) + struct.pack("<109I", 0, *([freesect] * 108))  # fmt: skip
    sectors = [struct.pack("<128I", *fat), b"".join(entries)]
    sectors += [data.ljust(-(-len(data) // 512) * 512, b"\0") for data in datas]
    path.write_bytes(header + b"".join(sectors))
    return path


BIFF8_BOF = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0)


def refused(
    path: Path,
    kind: str,
    *,
    limits: Limits | None = None,
    reader: Callable[..., object] = read_workbook,
    trace_memory: bool = True,
) -> LoadError:
    """Assert that reading ``path`` raises LoadError(kind) quickly and with little memory.

    tracemalloc slows allocation-heavy code several times over, so the time limit is
    generous enough to hold under it; ``trace_memory=False`` times the real speed. Time is this
    process's CPU time, not wall-clock (on a shared machine the wall clock measures the neighbours).
    """
    if trace_memory:
        tracemalloc.start()
    t0 = time.process_time()
    try:
        with pytest.raises(LoadError) as err:
            reader(path, limits)
    finally:
        elapsed = time.process_time() - t0
        peak = tracemalloc.get_traced_memory()[1] if trace_memory else 0
        tracemalloc.stop()
    e = err.value
    assert e.kind == kind, (e.kind, e.message_en)
    assert elapsed < 10, f"{kind} took {elapsed:.1f} s CPU"
    assert peak < 48 * MB, f"{kind} peaked at {peak / MB:.0f} MB"
    # one line each, naming the file, in both languages
    for message in (e.message_zh, e.message_en):
        assert "\n" not in message and str(path) in message
    assert str(e) == e.message_zh and e.path == str(path)
    return e


@pytest.fixture
def xlsx_file(tmp_path):
    return make_xlsx(tmp_path / "good.xlsx")


# --------------------------------------------------------------------------- sniffing


def test_sniff_every_kind(tmp_path, xlsx_file):
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_paragraph("不是表格")
    d.save(tmp_path / "word.docx")

    xlsm = rewrite(xlsx_file, tmp_path / "macro.xlsm", {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"})
    with zipfile.ZipFile(xlsx_file) as zf:
        ct = zf.read("[Content_Types].xml").decode()
    macro_ct = ct.replace(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    xlsm_no_vba = rewrite(xlsx_file, tmp_path / "novba.xlsm", {"[Content_Types].xml": macro_ct})
    ods = tmp_path / "calc.ods"
    with zipfile.ZipFile(ods, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")
    plain_zip = tmp_path / "files.zip"
    with zipfile.ZipFile(plain_zip, "w") as zf:
        zf.writestr("readme.txt", "hello")

    cases = {
        xlsx_file: "xlsx",
        rewrite(xlsx_file, tmp_path / "伪装.xls"): "xlsx",  # extension is irrelevant
        xlsm: "xlsm",
        xlsm_no_vba: "xlsm",
        make_ole(tmp_path / "old.xls", {"Workbook": BIFF8_BOF}): "xls",
        make_ole(tmp_path / "biff5.xls", {"Book": BIFF8_BOF}): "xls",
        make_ole(tmp_path / "renamed.xlsx", {"Workbook": BIFF8_BOF}): "xls",
        make_ole(tmp_path / "enc.xlsx", {"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": b"x"}): "encrypted",
        make_ole(tmp_path / "doc.doc", {"WordDocument": b"x"}): "ole",
        tmp_path / "word.docx": "docx",
        ods: "ods",
        plain_zip: "zip",
        tmp_path / "empty.xlsx": "empty",
        tmp_path / "data.csv": "text",
        tmp_path / "gbk.xls": "text",
        tmp_path / "page.xls": "text",
        tmp_path / "image.xlsx": "image",
        tmp_path / "blob.xlsx": "unknown",
    }
    (tmp_path / "empty.xlsx").write_bytes(b"")
    (tmp_path / "data.csv").write_text("名称,数量\n甲,1\n", encoding="utf-8-sig")
    (tmp_path / "gbk.xls").write_bytes("名称\t数量\r\n甲\t1\r\n".encode("gbk"))
    (tmp_path / "page.xls").write_text("<html><body><table><tr><td>1</td></tr></table></body></html>")
    (tmp_path / "image.xlsx").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    (tmp_path / "blob.xlsx").write_bytes(bytes(range(256)) * 4)
    for path, kind in cases.items():
        assert sniff(path) == kind, path.name


def test_sniff_encrypted_workbook_from_msoffcrypto(tmp_path, xlsx_file):
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    enc = tmp_path / "locked.xlsx"
    with open(xlsx_file, "rb") as src, open(enc, "wb") as out:
        ooxml.OOXMLFile(src).encrypt("secret", out)
    assert sniff(enc) == "encrypted"
    e = refused(enc, "encrypted")
    assert "密码" in e.message_zh and "password" in e.message_en


@pytest.mark.libreoffice
def test_libreoffice_ods_is_read_like_xlsx(tmp_path, xlsx_file):
    """LibreOffice's own format is a workbook too: the same cells as the .xlsx it was saved from."""
    lo = pytest.importorskip("lo")
    if not lo.available():
        pytest.skip("LibreOffice (soffice) is not installed")
    ods = lo.to_ods(xlsx_file, tmp_path / "lo")
    assert sniff(ods) == "ods"
    got = read_workbook(ods)
    want = read_workbook(xlsx_file)
    assert got.kind == "ods" and list(got.sheets) == list(want.sheets)
    for name, sheet in want.sheets.items():
        assert {p: c.value for p, c in got.sheets[name].cells.items()} == {p: c.value for p, c in sheet.cells.items()}


# --------------------------------------------------------------------------- paths


def test_paths_that_are_not_files(tmp_path, xlsx_file):
    refused(tmp_path, "directory")
    refused(tmp_path / "missing.xlsx", "not-a-file")
    (tmp_path / "dangling.xlsx").symlink_to(tmp_path / "gone.xlsx")
    e = refused(tmp_path / "dangling.xlsx", "not-a-file")
    assert "符号链接" in e.message_zh
    (tmp_path / "loop1.xlsx").symlink_to(tmp_path / "loop2.xlsx")
    (tmp_path / "loop2.xlsx").symlink_to(tmp_path / "loop1.xlsx")
    refused(tmp_path / "loop1.xlsx", "symlink-loop")
    (tmp_path / "link.xlsx").symlink_to(xlsx_file)  # a working symlink is fine
    assert read_workbook(tmp_path / "link.xlsx").sheets["表1"].cells[(2, 2)].value == 20
    (tmp_path / "empty.xlsx").write_bytes(b"")
    refused(tmp_path / "empty.xlsx", "empty")
    for kind in ("directory", "not-a-file", "symlink-loop"):
        with pytest.raises(LoadError):
            sniff(
                {"directory": tmp_path, "not-a-file": tmp_path / "missing", "symlink-loop": tmp_path / "loop1.xlsx"}[
                    kind
                ]
            )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    refused(fifo, "not-a-file")  # opening a FIFO for reading would block forever


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path, xlsx_file):
    xlsx_file.chmod(0)
    try:
        refused(xlsx_file, "unreadable")
    finally:
        xlsx_file.chmod(0o644)


# --------------------------------------------------------------------------- formats


def test_old_and_other_formats_are_refused_with_advice(tmp_path, xlsx_file):
    xls = make_ole(tmp_path / "旧表.xls", {"Workbook": BIFF8_BOF})
    e = refused(xls, "xls")
    assert e.message_zh == f"{xls}：这是旧版 Excel 97-2003 (.xls) 文件，请在 Excel/WPS 中另存为 .xlsx 后再提交。"
    refused(make_ole(tmp_path / "enc.xlsx", {"EncryptionInfo": b"x", "EncryptedPackage": b"x"}), "encrypted")
    assert refused(make_ole(tmp_path / "w.doc", {"WordDocument": b"x"}), "not-xlsx").detail == "ole"
    (tmp_path / "t.xlsx").write_text("a,b\n1,2\n")
    assert refused(tmp_path / "t.xlsx", "not-xlsx").detail == "text"
    (tmp_path / "b.xlsx").write_bytes(bytes(range(256)) * 4)
    assert refused(tmp_path / "b.xlsx", "not-xlsx").detail == "unknown"
    xlsb = tmp_path / "bin.xlsb"
    with zipfile.ZipFile(xlsb, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.bin", b"\x83\x01")
    e = refused(xlsb, "not-xlsx")
    assert e.detail == "xlsb" and ".xlsb" in e.message_zh
    no_workbook = rewrite(xlsx_file, tmp_path / "nowb.xlsx", drop=("xl/workbook.xml",))
    assert refused(no_workbook, "not-xlsx").detail == "zip"


def test_broken_zips(tmp_path, xlsx_file):
    data = xlsx_file.read_bytes()
    (tmp_path / "truncated.xlsx").write_bytes(data[: len(data) // 2])
    refused(tmp_path / "truncated.xlsx", "corrupt-zip")
    (tmp_path / "garbage.xlsx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    refused(tmp_path / "garbage.xlsx", "corrupt-zip")
    # a flipped byte inside the sheet's compressed data: CRC or inflate error
    with zipfile.ZipFile(xlsx_file) as zf:
        info = zf.getinfo(SHEET)
    blob = bytearray(data)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 10
    blob[start : start + 8] = b"\xff" * 8
    (tmp_path / "flipped.xlsx").write_bytes(bytes(blob))
    refused(tmp_path / "flipped.xlsx", "corrupt-zip")
    # two members with one name: different readers would disagree about the content
    dup = tmp_path / "dup.xlsx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(xlsx_file) as zin, zipfile.ZipFile(dup, "w") as zout:
            for i in zin.infolist():
                zout.writestr(i.filename, zin.read(i.filename))
            zout.writestr(SHEET, "<worksheet/>")
    refused(dup, "corrupt-zip")
    # zip-level encryption (not how Excel encrypts; Excel cannot open it either)
    zipenc = rewrite(xlsx_file, tmp_path / "zipenc.xlsx")
    patch_sizes(zipenc, SHEET, flag_bits=1)
    refused(zipenc, "encrypted")


# --------------------------------------------------------------------------- zip bombs


@pytest.fixture(scope="module")
def bomb_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bombs")


@pytest.fixture(scope="module")
def big_bomb(bomb_dir):
    """200 MB of zeros as the first sheet: about 200 KB on disk."""
    src = make_xlsx(bomb_dir / "src.xlsx")
    return stream_member(src, bomb_dir / "bomb200.xlsx", SHEET, 200)


def test_zip_bomb_total_size(big_bomb):
    assert big_bomb.stat().st_size < 1 * MB
    e = refused(big_bomb, "zip-bomb")
    assert "压缩炸弹" in e.message_zh
    assert sniff(big_bomb) == "xlsx"  # sniffing never inflates it either


def test_zip_bomb_ratio_under_total(bomb_dir):
    src = make_xlsx(bomb_dir / "src2.xlsx")
    bomb = stream_member(src, bomb_dir / "bomb50.xlsx", "xl/media/image1.png", 50)
    e = refused(bomb, "zip-bomb")  # 50 MB < 100 MB total, but ~1000:1 on one member
    assert "image1.png" in e.detail
    refused(bomb, "zip-bomb", reader=lambda p, limits: open_package(p, limits))
    # a looser ratio limit accepts it (the member is never read)
    assert read_workbook(bomb, Limits(max_ratio=5000)).sheets["表1"].cells[(2, 2)].value == 20


def test_zip_bomb_with_understated_size(bomb_dir):
    """Headers that claim a small size for a huge member are caught, and never inflated."""
    src = make_xlsx(bomb_dir / "src3.xlsx")
    liar = stream_member(src, bomb_dir / "liar.xlsx", SHEET, 200)
    patch_sizes(liar, SHEET, uncompressed=1000)  # smaller than its compressed data: a lie
    refused(liar, "corrupt-zip")
    subtle = stream_member(src, bomb_dir / "subtle.xlsx", SHEET, 200)
    with zipfile.ZipFile(subtle) as zf:
        compressed = zf.getinfo(SHEET).compress_size
    patch_sizes(subtle, SHEET, uncompressed=2 * compressed)  # plausible, under every limit
    # zipfile's read() would inflate all 200 MB before truncating; the loader stops one
    # step past the declared size, whatever the CRC says (a CRC forged for the cut-off
    # prefix would fool zipfile, which checks nothing else)
    e = refused(subtle, "zip-bomb")
    assert "declared" in e.detail


def test_too_many_members(tmp_path, xlsx_file):
    many = tmp_path / "many.xlsx"
    with zipfile.ZipFile(xlsx_file) as zin, zipfile.ZipFile(many, "w") as zout:
        for i in zin.infolist():
            zout.writestr(i.filename, zin.read(i.filename))
        for n in range(600):
            zout.writestr(f"xl/media/x{n}.bin", b"")
    refused(many, "too-many-members")
    assert read_workbook(many, Limits(max_members=1000)).sheets["表1"].cells[(2, 2)].value == 20


def test_forged_member_count(tmp_path, xlsx_file):
    """The end record may lie about the count; the directory's byte size still gives it away."""
    forged = tmp_path / "forged.xlsx"
    with zipfile.ZipFile(xlsx_file) as zin, zipfile.ZipFile(forged, "w") as zout:
        for i in zin.infolist():
            zout.writestr(i.filename, zin.read(i.filename))
        for n in range(12_000):
            zout.writestr(f"xl/media/{'x' * 40}{n}.bin", b"")
    blob = bytearray(forged.read_bytes())
    eocd = blob.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", blob, eocd + 8, 10, 10)
    forged.write_bytes(bytes(blob))
    refused(forged, "too-many-members")


def test_too_large_file(tmp_path, xlsx_file):
    big = tmp_path / "big.xlsx"
    big.write_bytes(xlsx_file.read_bytes())
    os.truncate(big, 25 * MB)  # sparse: no disk space used
    e = refused(big, "too-large")
    assert "25.0 MB" in e.message_zh
    refused(xlsx_file, "too-large", limits=Limits(max_file_bytes=1000))


# --------------------------------------------------------------------------- XML attacks

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n"
)
XXE = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
EXTERNAL_DTD = '<?xml version="1.0"?>\n<!DOCTYPE worksheet SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
PARAM_ENTITY = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>\n'
ATTACKS = {
    "billion-laughs": (BILLION_LAUGHS, "&lol9;"),
    "xxe": (XXE, "&xxe;"),
    "dtd": (EXTERNAL_DTD, "x"),
    "param": (PARAM_ENTITY, "x"),
}


def sheet_with(prolog: str, text: str) -> str:
    return (
        f'{prolog}<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>{text}</t></is></c>'
        "</row></sheetData></worksheet>"
    )


@pytest.fixture(params=["tree", "stream"])
def path_mode(request, monkeypatch):
    if request.param == "stream":
        from gxsheet.xlsx import workbook as xlsx

        monkeypatch.setattr(xlsx, "_TREE_MAX_BYTES", -1)
    return request.param


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_xml_entities_in_sheet(tmp_path, xlsx_file, path_mode, attack):
    prolog, text = ATTACKS[attack]
    bad = rewrite(xlsx_file, tmp_path / "bad.xlsx", {SHEET: sheet_with(prolog, text)})
    e = refused(bad, "xml-entities")
    assert SHEET in e.detail


@pytest.mark.parametrize(
    "part", ["xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml", "[Content_Types].xml"]
)
def test_xml_entities_in_other_parts(tmp_path, xlsx_file, path_mode, part):
    with zipfile.ZipFile(xlsx_file) as zf:
        original = zf.read(part).decode() if part in zf.namelist() else f'<sst xmlns="{MAIN}"><si><t>x</t></si></sst>'
    original = original.split("?>", 1)[-1] if original.startswith("<?xml") else original
    bad = rewrite(xlsx_file, tmp_path / "bad.xlsx", {part: XXE + original})
    refused(bad, "xml-entities")


def test_xml_entities_in_utf16(tmp_path, xlsx_file):
    doc = sheet_with(BILLION_LAUGHS.replace('version="1.0"', 'version="1.0" encoding="UTF-16"'), "&lol9;")
    bad = rewrite(xlsx_file, tmp_path / "utf16.xlsx", {SHEET: doc.encode("utf-16")})
    refused(bad, "xml-entities")


@pytest.mark.parametrize(
    "part", [SHEET, "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml", "[Content_Types].xml"]
)
def test_unknown_xml_encoding_is_a_clear_refusal(tmp_path, xlsx_file, path_mode, part):
    """expat looks encoding="…" up in Python's codecs: an unknown name raised a bare LookupError."""
    with zipfile.ZipFile(xlsx_file) as zf:
        original = zf.read(part).decode() if part in zf.namelist() else f'<sst xmlns="{MAIN}"><si><t>x</t></si></sst>'
    original = original.split("?>", 1)[-1] if original.startswith("<?xml") else original
    bad = rewrite(xlsx_file, tmp_path / "enc.xlsx", {part: '<?xml version="1.0" encoding="UT-F-8"?>' + original})
    if part == "[Content_Types].xml":  # only consulted to tell what the file is; the cells still read
        assert read_workbook(bad).sheets
    else:
        assert "UT-F-8" in refused(bad, "corrupt").detail


def test_doctype_after_root_is_just_malformed(tmp_path, xlsx_file):
    doc = sheet_with("", "x").replace("<sheetData>", "<sheetData><!DOCTYPE x>")
    refused(rewrite(xlsx_file, tmp_path / "late.xlsx", {SHEET: doc}), "corrupt")


def test_new_parser_refuses_doctype_itself():
    p = new_parser()
    with pytest.raises(Exception) as err:
        p.Parse(BILLION_LAUGHS.encode() + b"<a>&lol9;</a>", True)
    assert type(err.value).__name__ == "_XmlEntitiesError"
    p = new_parser()
    p.Parse(b'<a xmlns="urn:x">&amp;&#20013;</a>', True)  # predefined and character refs are fine


# --------------------------------------------------------------------------- sheet limits


def test_a_huge_dimension_is_only_a_hint(tmp_path, xlsx_file, path_mode):
    """LibreOffice declares A1:L1048576 after a row is deleted: not content, never a refusal."""
    doc = sheet_with("", "x").replace("<sheetData>", '<dimension ref="A1:C1048576"/><sheetData>')
    ok = read_workbook(rewrite(xlsx_file, tmp_path / "dim.xlsx", {SHEET: doc}))
    assert ok.sheets["表1"].dimension == "A1:C1048576" and list(ok.sheets["表1"].cells) == [(1, 1)]
    wide = read_workbook(rewrite(xlsx_file, tmp_path / "wide.xlsx", {SHEET: doc.replace("C1048576", "XFD1")}))
    assert list(wide.sheets["表1"].cells) == [(1, 1)]


def test_cells_beyond_the_limits(tmp_path, xlsx_file, path_mode):
    far_row = sheet_with("", "x").replace('r="1"><c r="A1"', 'r="6000"><c r="A6000"')
    refused(rewrite(xlsx_file, tmp_path / "row.xlsx", {SHEET: far_row}), "sheet-too-large")
    far_col = sheet_with("", "x").replace('<c r="A1"', '<c r="GS1"')  # column 201
    refused(rewrite(xlsx_file, tmp_path / "col.xlsx", {SHEET: far_col}), "sheet-too-large")
    # formatted-but-empty cells are not content ...
    empty = sheet_with("", "x").replace("</row>", '</row><row r="5000"><c r="GR5000" s="1"/></row>')
    cells = read_workbook(rewrite(xlsx_file, tmp_path / "empty.xlsx", {SHEET: empty})).sheets["表1"].cells
    assert list(cells) == [(1, 1)]
    # ... wherever they are: LibreOffice writes an empty <row r="1048576"> (limits are for content)
    for far in ('<row r="9000"><c r="A9000" s="1"/></row>', '<row r="2"><c r="ZZ2" s="1"/></row>', '<row r="1048576"/>',
                '<row r="1048576"><c r="XFD1048576" s="1"/></row>'):
        doc = sheet_with("", "x").replace("</row>", "</row>" + far)
        assert list(read_workbook(rewrite(xlsx_file, tmp_path / "far.xlsx", {SHEET: doc})).sheets["表1"].cells) == [(1, 1)]
    # beyond the format itself it is damage
    doc = sheet_with("", "x").replace("</row>", '</row><row r="1048577"/>')
    refused(rewrite(xlsx_file, tmp_path / "beyond.xlsx", {SHEET: doc}), "corrupt")
    # merged ranges: extent and total area
    merged = sheet_with("", "x") + ""
    for refs, kind in ((["A1:A9000"], "sheet-too-large"), (["A1:GR500"] * 2, "too-many-cells")):
        cells_xml = "<mergeCells>" + "".join(f'<mergeCell ref="{r}"/>' for r in refs) + "</mergeCells>"
        doc = merged.replace("</sheetData>", "</sheetData>" + cells_xml)
        refused(rewrite(xlsx_file, tmp_path / "merged.xlsx", {SHEET: doc}), kind)


def test_too_many_cells_and_strings(tmp_path, path_mode):
    path = make_xlsx(tmp_path / "rows.xlsx", rows=40)
    e = refused(path, "too-many-cells", limits=Limits(max_cells=50))
    assert "表1" in e.message_zh and "50" in e.message_en
    assert len(read_workbook(path, Limits(max_cells=81)).sheets["表1"].cells) == 81
    with zipfile.ZipFile(path) as zf:
        base = zf.read(SHEET).decode()
    shared = f'<sst xmlns="{MAIN}">' + "".join(f"<si><t>s{i}</t></si>" for i in range(10)) + "</sst>"
    with_sst = rewrite(path, tmp_path / "sst.xlsx", {"xl/sharedStrings.xml": shared, SHEET: base})
    refused(with_sst, "too-many-cells", limits=Limits(max_shared_strings=5))
    merged = base.replace(
        "</sheetData>",
        "</sheetData><mergeCells>" + "".join(f'<mergeCell ref="D{i}:E{i}"/>' for i in range(1, 30)) + "</mergeCells>",
    )
    refused(rewrite(path, tmp_path / "merged.xlsx", {SHEET: merged}), "too-many-cells", limits=Limits(max_cells=20))


def empty_cells_sheet(count: int) -> str:
    """``count`` formatted-but-empty cells, all claiming A1: within every sheet limit, so only
    the element budget can stop them (cells numbered on would pass column 200 and be refused)."""
    return (
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1">' + '<c r="A1" s="1"/>' * count + "</row></sheetData></worksheet>"
    )


def test_element_budget_bounds_huge_empty_sheets(tmp_path, xlsx_file, path_mode):
    """Millions of formatted-but-empty cells break no other limit; the element budget stops them."""
    loose = Limits(max_ratio=1e9)  # repetitive XML: get past the zip-bomb check on purpose
    bad = rewrite(xlsx_file, tmp_path / "empties.xlsx", {SHEET: empty_cells_sheet(60_000)})
    e = refused(bad, "too-many-cells", limits=dataclasses.replace(loose, max_elements=50_000))
    assert "XML elements" in e.detail and "表1" in e.message_zh
    assert read_workbook(bad, loose).sheets["表1"].cells == {}  # within the default budget
    # the budget is per workbook: four sheets under it one by one, over it together
    wb = openpyxl.load_workbook(xlsx_file)
    for i in range(2, 5):
        wb.create_sheet(f"表{i}")
    wb.save(tmp_path / "four.xlsx")
    parts = {f"xl/worksheets/sheet{i}.xml": empty_cells_sheet(10_000) for i in range(1, 5)}
    four = rewrite(tmp_path / "four.xlsx", tmp_path / "four-empties.xlsx", parts)
    refused(four, "too-many-cells", limits=dataclasses.replace(loose, max_elements=30_000))
    # metadata parts count too
    with zipfile.ZipFile(xlsx_file) as zf:
        workbook = zf.read("xl/workbook.xml").decode()
    names = "<definedNames>" + '<definedName name="n">A1</definedName>' * 40_000 + "</definedNames>"
    big_meta = rewrite(
        xlsx_file, tmp_path / "names.xlsx", {"xl/workbook.xml": workbook.replace("<calcPr", names + "<calcPr")}
    )
    refused(big_meta, "too-large", limits=dataclasses.replace(loose, max_elements=30_000))


@pytest.mark.slow
def test_element_budget_default_stops_in_seconds(tmp_path, xlsx_file):
    bad = rewrite(
        xlsx_file, tmp_path / "empties.xlsx", {SHEET: empty_cells_sheet(DEFAULT_LIMITS.max_elements + 10_000)}
    )
    # streamed (the part is ~20 MB), so memory is flat; time it without tracemalloc's drag
    refused(bad, "too-many-cells", limits=Limits(max_ratio=1e9), trace_memory=False)


# --------------------------------------------------------------------------- API


def test_load_error_api():
    e = LoadError.make("a/b.xlsx", "xls")
    assert (e.path, e.kind) == ("a/b.xlsx", "xls")
    assert str(e) == e.message_zh and e.message_zh.startswith("a/b.xlsx：")
    assert e.message_en.startswith("a/b.xlsx: ") and ".xlsx" in e.message_en
    clone = pickle.loads(pickle.dumps(e))  # crosses process pools intact
    assert (clone.kind, clone.message_zh, clone.message_en) == (e.kind, e.message_zh, e.message_en)
    assert isinstance(e, Exception)


def test_limits_defaults_and_override():
    assert DEFAULT_LIMITS == Limits()
    assert DEFAULT_LIMITS.max_file_bytes == 20 * MB and DEFAULT_LIMITS.max_members == 500
    assert DEFAULT_LIMITS.max_total_bytes == 100 * MB and DEFAULT_LIMITS.max_ratio == 200
    assert (DEFAULT_LIMITS.max_rows, DEFAULT_LIMITS.max_cols) == (5000, 200)
    assert DEFAULT_LIMITS.max_text_len == 32767
    custom = dataclasses.replace(DEFAULT_LIMITS, max_rows=10)
    assert custom.max_rows == 10 and custom.max_cols == 200
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.max_rows = 1  # type: ignore[misc]


def test_package_api(tmp_path, xlsx_file):
    with open_package(xlsx_file) as pkg:
        assert isinstance(pkg, Package)
        assert pkg.kind == "xlsx" and pkg.workbook_part == "xl/workbook.xml"
        assert pkg.find("XL/Worksheets/Sheet1.XML") == SHEET and pkg.find("nope.xml") is None
        assert pkg.read(SHEET).startswith(b"<") and pkg.size(SHEET) == len(pkg.read(SHEET))
        root = pkg.tree(SHEET)
        assert root.tag == f"{{{MAIN}}}worksheet"
        with pytest.raises(LoadError) as err:
            pkg.read("xl/missing.xml")
        assert err.value.kind == "corrupt"


def test_no_file_descriptors_leak(tmp_path, xlsx_file, big_bomb):
    if not Path("/proc/self/fd").exists():
        pytest.skip("needs /proc")
    bad = rewrite(xlsx_file, tmp_path / "bad.xlsx", {SHEET: sheet_with(XXE, "&xxe;")})
    xls = make_ole(tmp_path / "old.xls", {"Workbook": BIFF8_BOF})
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        for path in (bad, xls, big_bomb, tmp_path):
            with pytest.raises(LoadError):
                read_workbook(path)
        read_workbook(xlsx_file)
        sniff(xls)
    assert len(os.listdir("/proc/self/fd")) == before


def test_reading_is_much_faster_than_openpyxl(tmp_path):
    """A loose guard (CPU time, 2x) against accidental slow paths; see benchmarks/read_speed.py."""
    paths = [make_xlsx(tmp_path / f"r{i}.xlsx", rows=60) for i in range(10)]

    def cpu(fn: Callable[[Path], object]) -> float:
        best = float("inf")
        for _ in range(3):
            t0 = time.process_time()
            for p in paths:
                fn(p)
            best = min(best, time.process_time() - t0)
        return best

    ours = cpu(read_workbook)
    theirs = cpu(lambda p: [list(ws.values) for ws in openpyxl.load_workbook(p).worksheets])
    assert ours * 2 < theirs, (ours, theirs)


def test_bytes_io_is_not_accepted():
    with pytest.raises(TypeError):
        read_workbook(io.BytesIO(b"PK"))  # type: ignore[arg-type]
