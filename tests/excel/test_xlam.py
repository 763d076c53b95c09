"""Tests for the reproducible Excel add-in build (gxsheet.xlam) and its installer.

Excel itself is not available on CI, so the built file is checked against independent readers:
oletools' olevba and olefile (VBA project / compound file), our own and olevba's MS-OVBA
decompressors, LibreOffice's VBA import (when soffice is installed), and the encryption is checked
against CMG/DPB/GC values written by real Excel (xlwings' shipped quickstart add-in).
"""

from __future__ import annotations

import functools
import io
import json
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import olefile
import pytest
import xlwings
from oletools.olevba import VBA_Parser, decompress_stream

from gxsheet.excel import install as addin_install
from gxsheet.excel import xlam
from gxsheet.excel.install import UNSUPPORTED_MESSAGE, AddinUnsupported

ROOT = Path(__file__).resolve().parents[2]
MACROS = ROOT / "macros"
RIBBON_BAS = MACROS / "gxsheet_ribbon.bas"
NS_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
NS_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_UI = "{http://schemas.microsoft.com/office/2009/07/customui}"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return xlam.build_xlam(tmp_path_factory.mktemp("xlam") / "gxsheet.xlam", MACROS)


def _zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _ole(path: Path) -> olefile.OleFileIO:
    data = _zip(path)["xl/vbaProject.bin"]
    return olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)


def _without_attributes(code: str) -> list[str]:
    """Source lines minus VBA's ``Attribute`` lines and trailing blank lines."""
    lines = [line for line in code.splitlines() if not line.startswith("Attribute ")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _source_files() -> list[Path]:
    return sorted(p for p in MACROS.iterdir() if p.suffix in (".bas", ".cls"))


def _config_rows(path: Path) -> dict[str, object]:
    """Read the xlwings.conf sheet straight from the package XML (openpyxl refuses .xlam)."""
    parts = _zip(path)
    workbook = ElementTree.fromstring(parts["xl/workbook.xml"])
    names = [s.get("name") for s in workbook.iter(f"{NS_MAIN}sheet")]
    assert names == ["xlwings.conf"]
    strings = [
        "".join(t.text or "" for t in si.iter(f"{NS_MAIN}t"))
        for si in ElementTree.fromstring(parts["xl/sharedStrings.xml"]).iter(f"{NS_MAIN}si")
    ]
    rows: dict[str, object] = {}
    sheet = ElementTree.fromstring(parts["xl/worksheets/sheet1.xml"])
    for row in sheet.iter(f"{NS_MAIN}row"):
        values: dict[str, object] = {}
        for cell in row.iter(f"{NS_MAIN}c"):
            raw = cell.find(f"{NS_MAIN}v").text
            kind = cell.get("t")
            value: object = (
                strings[int(raw)] if kind == "s" else bool(int(raw)) if kind == "b" else float(raw)
            )
            values[cell.get("r").rstrip("0123456789")] = value
        rows[values["A"]] = values.get("B", "")
    return rows


def _ribbon_subs() -> dict[str, str]:
    """``{sub name: body}`` for every Sub in the ribbon module."""
    text = RIBBON_BAS.read_text(encoding="utf-8")
    pattern = re.compile(
        r"^(?:Public |Private )?Sub (\w+)\((.*?)\)\s*$(.*?)^End Sub", re.MULTILINE | re.DOTALL
    )
    return {m.group(1): m.group(2) + "\n" + m.group(3) for m in pattern.finditer(text)}


def _zh(codes: str) -> str:
    """Python twin of the VBA Zh() helper."""
    return "".join(chr(int(code, 16)) for code in codes.split(" "))


def _extract(path: Path) -> dict[str, str]:
    """``{module name: stored source}`` as olevba reads it back from a workbook or add-in."""
    parser = VBA_Parser(str(path))
    try:
        return {Path(name).stem: code for _f, _s, name, code in parser.extract_macros()}
    finally:
        parser.close()


# --------------------------------------------------------------------------------------------
# reproducibility and atomic output
# --------------------------------------------------------------------------------------------


def test_build_twice_gives_identical_bytes(tmp_path: Path, built: Path) -> None:
    first = xlam.build_xlam(tmp_path / "a" / "gxsheet.xlam")
    second = xlam.build_xlam(tmp_path / "b" / "other-name.xlam", MACROS)
    assert first.read_bytes() == second.read_bytes() == built.read_bytes()
    with zipfile.ZipFile(first) as archive:
        infos = archive.infolist()
    assert infos[0].filename == "[Content_Types].xml"
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_build_replaces_atomically_and_leaves_no_temp_files(tmp_path: Path) -> None:
    out = tmp_path / "gxsheet.xlam"
    out.write_bytes(b"old add-in")
    assert xlam.build_xlam(out, MACROS) == out
    assert out.read_bytes()[:2] == b"PK"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gxsheet.xlam"]


def test_build_changes_when_a_source_changes(tmp_path: Path, built: Path) -> None:
    macros = tmp_path / "macros"
    shutil.copytree(MACROS, macros)
    ribbon = macros / "gxsheet_ribbon.bas"
    ribbon.write_text(ribbon.read_text(encoding="utf-8") + "' changed\n", encoding="utf-8")
    assert xlam.build_xlam(tmp_path / "x.xlam", macros).read_bytes() != built.read_bytes()


# --------------------------------------------------------------------------------------------
# the VBA project, read back by independent readers
# --------------------------------------------------------------------------------------------


def test_olevba_reads_back_every_module_equal_to_the_sources(built: Path) -> None:
    extracted = _extract(built)
    expected = {xlam.read_module(p).name: p for p in _source_files()}
    assert set(expected) >= {"GxsheetRibbon", "xlwings", "Dictionary"}
    assert set(extracted) == set(expected) | {"ThisWorkbook", "Sheet1"}
    for name, path in expected.items():
        assert _without_attributes(extracted[name]) == _without_attributes(
            path.read_text(encoding="utf-8")
        ), name
    assert 'Attribute VB_Name = "GxsheetRibbon"' in extracted["GxsheetRibbon"]


def test_compound_file_streams_decompress_to_the_sources(built: Path) -> None:
    ole = _ole(built)
    modules = xlam.load_modules(MACROS)
    streams = sorted("/".join(p) for p in ole.listdir())
    assert streams == sorted(
        ["PROJECT", "PROJECTwm", "VBA/_VBA_PROJECT", "VBA/dir"]
        + [f"VBA/{m.name}" for m in modules]
    )
    for module in modules:
        raw = ole.openstream(f"VBA/{module.name}").read()
        assert xlam.decompress(raw) == module.source_bytes()
        assert bytes(decompress_stream(bytearray(raw))) == module.source_bytes()
    raw_dir = ole.openstream("VBA/dir").read()
    assert bytes(decompress_stream(bytearray(raw_dir))) == xlam.dir_stream(modules)
    assert ole.openstream("VBA/_VBA_PROJECT").read() == bytes.fromhex("CC61FFFF000100")
    for entry in ole.direntries:
        if entry is not None:
            assert entry.createTime == entry.modifyTime == 0
            assert entry.clsid in ("", "00000000-0000-0000-0000-000000000000")


def _module_attributes(code: str) -> list[str]:
    """The module-level ``Attribute VB_…`` lines at the top of a stored module."""
    lines = code.splitlines()
    head = []
    for line in lines:
        if not re.match(r"^Attribute VB_\w+ = ", line):
            break
        head.append(line)
    return head


def test_class_module_carries_the_attributes_excel_writes(built: Path) -> None:
    """Dictionary as stored in our add-in has the same attribute block, in the same order, as
    the Dictionary class in an add-in saved by real Excel (xlwings' quickstart add-in)."""
    shipped = Path(xlwings.__file__).parent / "quickstart_addin_ribbon.xlam"
    if not shipped.is_file():
        pytest.skip("this xlwings release ships no quickstart add-in")
    ours = _module_attributes(_extract(built)["Dictionary"])
    excel = _module_attributes(_extract(shipped)["Dictionary"])
    assert [line.split(" = ")[0] for line in ours] == [line.split(" = ")[0] for line in excel]
    assert ours[:8] == excel[:8]  # VB_Name … VB_Customizable; VB_Description differs by release
    assert 'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"' in ours
    assert "Attribute VB_TemplateDerived = False" in ours and "Attribute VB_Customizable = False" in ours


def test_class_header_keeps_given_values_and_fills_in_the_rest() -> None:
    lines = ['Attribute VB_Name = "Thing"', "Attribute VB_Exposed = True",
             'Attribute VB_Description = "x"', "Option Explicit"]
    assert xlam.class_header(lines) == [
        'Attribute VB_Name = "Thing"',
        'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"',
        "Attribute VB_GlobalNameSpace = False",
        "Attribute VB_Creatable = False",
        "Attribute VB_PredeclaredId = False",
        "Attribute VB_Exposed = True",
        "Attribute VB_TemplateDerived = False",
        "Attribute VB_Customizable = False",
        'Attribute VB_Description = "x"',
        "Option Explicit",
    ]
    assert xlam.class_header(xlam.class_header(lines)) == xlam.class_header(lines)  # idempotent


def _dir_records(data: bytes) -> list[tuple[int, bytes]]:
    records, pos = [], 0
    while pos < len(data):
        record_id, size = struct.unpack_from("<HI", data, pos)
        if record_id == 0x0009:  # PROJECTVERSION: "Reserved" where the size would be, 6 bytes
            size = 6
        records.append((record_id, data[pos + 6 : pos + 6 + size]))
        pos += 6 + size
    return records


def test_dir_project_and_projectwm_streams_agree(built: Path) -> None:
    ole = _ole(built)
    records = _dir_records(bytes(decompress_stream(bytearray(ole.openstream("VBA/dir").read()))))
    assert records[-1] == (0x0010, b"")
    names = [data.decode("ascii") for rid, data in records if rid == 0x0019]
    types = [rid for rid, _ in records if rid in (0x0021, 0x0022)]
    offsets = [struct.unpack("<I", data)[0] for rid, data in records if rid == 0x0031]
    assert offsets == [0] * len(names)  # source only, no p-code: Excel compiles on load
    (count,) = struct.unpack("<H", dict(records)[0x000F])
    assert count == len(names)
    (codepage,) = struct.unpack("<H", dict(records)[0x0003])
    assert codepage == 1252
    libids = [data[4:-6].decode("ascii") for rid, data in records if rid == 0x000D]
    assert any("{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}" in lib for lib in libids)  # IRibbonControl

    project = ole.openstream("PROJECT").read().decode("ascii")
    assert project.endswith("\r\n") and "\n" not in project.replace("\r\n", "")
    declared = re.findall(r"^(Document|Module|Class)=(\w+)", project, re.MULTILINE)
    assert [name for _, name in declared] == names
    kind = {"Document": 0x0022, "Class": 0x0022, "Module": 0x0021}
    assert [kind[k] for k, _ in declared] == types
    assert dict(declared)["Class"] == "Dictionary"

    wm = ole.openstream("PROJECTwm").read()
    expected_wm = b"".join(
        n.encode("ascii") + b"\x00" + n.encode("utf-16-le") + b"\x00\x00" for n in names
    )
    assert wm == expected_wm + b"\x00\x00"


def test_project_protection_fields_decrypt_to_unprotected_visible(built: Path) -> None:
    project = _ole(built).openstream("PROJECT").read().decode("ascii")
    fields = dict(re.findall(r'^(ID|CMG|DPB|GC)="([^"]*)"', project, re.MULTILINE))
    assert re.fullmatch(r"\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", fields["ID"])
    assert xlam.decrypt(bytes.fromhex(fields["CMG"])) == bytes(4)
    assert xlam.decrypt(bytes.fromhex(fields["DPB"])) == b"\x00"
    assert xlam.decrypt(bytes.fromhex(fields["GC"])) == b"\xff"
    blob = bytes.fromhex(fields["GC"])
    assert blob[2] ^ blob[0] == sum(fields["ID"].encode()) & 0xFF  # ProjKey = checksum of ID


def test_decrypt_matches_values_written_by_excel() -> None:
    """xlwings ships an add-in saved by real Excel: our decrypt must read its fields."""
    shipped = Path(xlwings.__file__).parent / "quickstart_addin_ribbon.xlam"
    if not shipped.is_file():
        pytest.skip("this xlwings release ships no quickstart add-in")
    with zipfile.ZipFile(shipped) as archive:
        ole = olefile.OleFileIO(io.BytesIO(archive.read("xl/vbaProject.bin")))
    project = ole.openstream("PROJECT").read().decode("latin-1")
    fields = dict(re.findall(r'^(ID|CMG|DPB|GC)="([^"]*)"', project, re.MULTILINE))
    assert xlam.decrypt(bytes.fromhex(fields["CMG"])) == bytes(4)
    assert xlam.decrypt(bytes.fromhex(fields["DPB"])) == b"\x00"
    assert xlam.decrypt(bytes.fromhex(fields["GC"])) == b"\xff"
    blob = bytes.fromhex(fields["GC"])
    assert blob[2] ^ blob[0] == sum(fields["ID"].encode()) & 0xFF


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"a",
        b"abc" * 5000,
        b"\x00" * 10000,
        bytes(range(256)) * 16,  # exactly one incompressible 4096-byte chunk: a raw chunk
        bytes(range(256)) * 16 + b"tail",
        (MACROS / "xlwings.bas").read_bytes(),
    ],
    ids=["empty", "one-byte", "repeats", "zeros", "raw-chunk", "raw-then-tail", "xlwings.bas"],
)
def test_compression_round_trips_through_both_decompressors(data: bytes) -> None:
    packed = xlam.compress(data)
    assert packed[0] == 0x01
    assert xlam.decompress(packed) == data
    assert bytes(decompress_stream(bytearray(packed))) == data


def test_compression_actually_compresses_source() -> None:
    data = (MACROS / "xlwings.bas").read_bytes()
    assert len(xlam.compress(data)) < len(data) * 0.6


def test_compound_file_writer_handles_large_and_many_streams() -> None:
    tree = {
        f"S{i:02d}": {f"stream{j}": bytes([i, j]) * (40 * j + 1) for j in range(12)}
        for i in range(9)
    }
    tree["big"] = bytes(range(256)) * 400  # > 4096: regular sectors, > 1 FAT sector's worth
    data = xlam.write_cfb(tree)
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
    assert ole.openstream("big").read() == tree["big"]
    for i in range(9):
        for j in range(12):
            assert ole.openstream(f"S{i:02d}/stream{j}").read() == tree[f"S{i:02d}"][f"stream{j}"]
    # Each sibling tree is a valid red-black tree: equal black height, no red-red edge.
    entries = ole.direntries

    def black_height(sid: int, parent_red: bool) -> int:
        if sid == olefile.NOSTREAM:
            return 1
        entry = entries[sid]
        red = entry.color == 0
        assert not (red and parent_red)
        left = black_height(entry.sid_left, red)
        assert left == black_height(entry.sid_right, red)
        return left + (0 if red else 1)

    for entry in entries:
        if entry is not None and entry.entry_type in (1, 5):
            black_height(entry.sid_child, False)


def test_non_ascii_vba_source_is_rejected(tmp_path: Path) -> None:
    macros = tmp_path / "macros"
    shutil.copytree(MACROS, macros)
    ribbon = macros / "gxsheet_ribbon.bas"
    ribbon.write_text(
        ribbon.read_text(encoding="utf-8") + "' 校验\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="non-ASCII"):
        xlam.build_xlam(tmp_path / "x.xlam", macros)
    assert not (tmp_path / "x.xlam").exists()


# --------------------------------------------------------------------------------------------
# ribbon and callbacks
# --------------------------------------------------------------------------------------------


def test_every_ribbon_callback_is_a_sub_with_the_ribbon_signature() -> None:
    customui = (MACROS / "customUI.xml").read_bytes()
    root = ElementTree.fromstring(customui)
    assert root.tag == f"{NS_UI}customUI"
    tab = root.find(f"{NS_UI}ribbon/{NS_UI}tabs/{NS_UI}tab")
    assert tab is not None and tab.get("label") == "政务公开年报"
    buttons = list(root.iter(f"{NS_UI}button"))
    assert [b.get("label") for b in buttons] == ["校验", "导出文本", "新建模板"]
    assert all(b.get("imageMso") for b in buttons)

    subs = _ribbon_subs()
    module = xlam.read_module(RIBBON_BAS).name
    actions = {
        "GxValidate": "validate_active",
        "GxExportText": "export_active",
        "GxNewTemplate": "new_template",
    }
    assert [b.get("onAction") for b in buttons] == [f"{module}.{sub}" for sub in actions]
    for button in buttons:
        module_name, sub = button.get("onAction").split(".")
        assert module_name == module == "GxsheetRibbon"
        assert sub in subs, sub
        body = subs[sub]
        assert body.startswith("control As IRibbonControl\n")
        assert re.search(rf"^Public Sub {sub}\(control As IRibbonControl\)$",
                         RIBBON_BAS.read_text(encoding="utf-8"), re.MULTILINE)
        assert f'RunPython "import gxsheet.excel.addin; gxsheet.excel.addin.{actions[sub]}()"' in body
        assert "On Error GoTo Failed" in body
        # The failure message box names the button that was pressed, in Chinese.
        label = re.search(r'ShowFailure Zh\("([0-9A-F ]+)"\)', body)
        assert label is not None and _zh(label.group(1)) == button.get("label")


def test_failure_message_is_chinese() -> None:
    text = RIBBON_BAS.read_text(encoding="utf-8")
    show = _ribbon_subs()["ShowFailure"]
    assert "MsgBox" in show
    decoded = "".join(_zh(codes) for codes in re.findall(r'Zh\("([0-9A-F ]+)"\)', show))
    assert "操作失败" in decoded and "请确认本机已安装" in decoded and "重新安装加载项" in decoded
    assert text.isascii()


def test_build_rejects_a_callback_without_a_sub(tmp_path: Path) -> None:
    macros = tmp_path / "macros"
    shutil.copytree(MACROS, macros)
    ui = macros / "customUI.xml"
    ui.write_text(
        ui.read_text(encoding="utf-8").replace("GxsheetRibbon.GxValidate", "GxsheetRibbon.Nope"),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="Nope"):
        xlam.build_xlam(tmp_path / "x.xlam", macros)


# --------------------------------------------------------------------------------------------
# xlwings pin
# --------------------------------------------------------------------------------------------


def test_vendored_xlwings_matches_the_installed_version(tmp_path: Path) -> None:
    text = (MACROS / "xlwings.bas").read_text(encoding="ascii")
    versions = re.findall(
        r'^Public Const XLWINGS_VERSION As String = "([^"]+)"', text, re.MULTILINE
    )
    assert versions == [xlwings.__version__]
    assert f"xlwings64-{xlwings.__version__}.dll" in text
    # Re-extracting from the installed package reproduces the committed files exactly.
    subprocess.run(
        [sys.executable, str(MACROS / "update_xlwings_bas.py"), "--out-dir", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in ("xlwings.bas", "Dictionary.cls"):
        assert (tmp_path / name).read_bytes() == (MACROS / name).read_bytes(), name


# --------------------------------------------------------------------------------------------
# the OOXML package
# --------------------------------------------------------------------------------------------


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    base = PurePosixPath(source_part).parent.parent  # "_rels/x.rels" sits beside its source
    parts: list[str] = []
    for piece in (base / target).parts:
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def test_content_types_and_relationships_are_consistent(built: Path) -> None:
    parts = _zip(built)
    types = ElementTree.fromstring(parts["[Content_Types].xml"])
    defaults = {d.get("Extension"): d.get("ContentType") for d in types.iter(f"{NS_CT}Default")}
    overrides = {
        o.get("PartName").lstrip("/"): o.get("ContentType") for o in types.iter(f"{NS_CT}Override")
    }
    assert set(overrides) <= set(parts), "an Override names a missing part"
    for name in parts:
        if name != "[Content_Types].xml":
            assert name in overrides or name.rsplit(".", 1)[-1] in defaults, name
    assert overrides["xl/workbook.xml"] == "application/vnd.ms-excel.addin.macroEnabled.main+xml"
    assert overrides["xl/vbaProject.bin"] == "application/vnd.ms-office.vbaProject"

    referenced: set[str] = set()
    rel_types: dict[str, str] = {}
    for name in [n for n in parts if n.endswith(".rels")]:
        source = name.replace("_rels/", "").removesuffix(".rels")
        if source:
            assert source in parts, f"{name} belongs to a missing part"
        for rel in ElementTree.fromstring(parts[name]).iter(f"{NS_REL}Relationship"):
            target = _resolve(name, rel.get("Target"))
            assert target in parts, f"{name}: {rel.get('Target')} does not exist"
            referenced.add(target)
            rel_types[target] = rel.get("Type")
    unreferenced = set(parts) - referenced - {"[Content_Types].xml"}
    assert all(n.endswith(".rels") for n in unreferenced), unreferenced

    assert rel_types["customUI/customUI14.xml"] == (
        "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
    )
    assert ElementTree.fromstring(parts["customUI/customUI14.xml"]).tag == f"{NS_UI}customUI"
    assert parts["customUI/customUI14.xml"] == (MACROS / "customUI.xml").read_bytes()
    assert rel_types["xl/vbaProject.bin"].endswith("/relationships/vbaProject")

    workbook = ElementTree.fromstring(parts["xl/workbook.xml"])
    assert workbook.find(f"{NS_MAIN}workbookPr").get("codeName") == "ThisWorkbook"
    assert workbook.find(f"{NS_MAIN}bookViews/{NS_MAIN}workbookView").get("visibility") == "hidden"


def test_config_sheet_holds_config_json(built: Path) -> None:
    expected = json.loads((MACROS / "config.json").read_text(encoding="utf-8"))
    assert {"Interpreter_Win", "Interpreter_Mac", "PYTHONPATH", "UDF Modules",
            "Use UDF Server", "Show Console"} <= set(expected)
    assert expected["Interpreter_Win"] == expected["Interpreter_Mac"] == ""
    rows = _config_rows(built)
    assert list(rows) == list(expected)  # contiguous from A1: xlwings stops at the first blank
    assert rows == expected


def test_config_override_goes_into_the_sheet(tmp_path: Path) -> None:
    path = r"C:\Users\张三\AppData\Local\Programs\Python\Python311\pythonw.exe"
    out = xlam.build_xlam(tmp_path / "g.xlam", MACROS, config={"Interpreter_Win": path})
    rows = _config_rows(out)
    assert rows["Interpreter_Win"] == path
    assert rows["Interpreter_Mac"] == ""


# --------------------------------------------------------------------------------------------
# install paths per platform
# --------------------------------------------------------------------------------------------


def test_windows_install_goes_to_xlstart_with_pythonw(tmp_path: Path) -> None:
    appdata = tmp_path / "Roaming"
    pydir = tmp_path / "Python311"
    pydir.mkdir()
    (pydir / "python.exe").write_bytes(b"")
    (pydir / "pythonw.exe").write_bytes(b"")
    target = addin_install.install(
        platform="win32",
        home=tmp_path,
        env={"APPDATA": str(appdata)},
        executable=str(pydir / "python.exe"),
    )
    assert target == appdata / "Microsoft" / "Excel" / "XLSTART" / "gxsheet.xlam"
    assert _config_rows(target)["Interpreter_Win"] == str(pydir / "pythonw.exe")
    assert _config_rows(target)["Interpreter_Mac"] == ""
    assert sorted(p.name for p in target.parent.iterdir()) == ["gxsheet.xlam"]

    removed = addin_install.uninstall(platform="win32", home=tmp_path, env={"APPDATA": str(appdata)})
    assert removed == target and not target.exists()
    assert addin_install.uninstall(platform="win32", home=tmp_path, env={"APPDATA": str(appdata)}) is None


def test_windows_paths_without_appdata_and_without_pythonw(tmp_path: Path) -> None:
    assert addin_install.startup_dir("win32", tmp_path, {}) == (
        tmp_path / "AppData" / "Roaming" / "Microsoft" / "Excel" / "XLSTART"
    )
    exe = r"C:\Program Files\Python311\python.exe"
    assert addin_install.windows_interpreter(exe, exists=lambda p: False) == exe
    assert addin_install.windows_interpreter(exe, exists=lambda p: True) == (
        r"C:\Program Files\Python311\pythonw.exe"
    )
    assert addin_install.windows_interpreter(r"C:\venv\Scripts\pythonw.exe") == (
        r"C:\venv\Scripts\pythonw.exe"
    )
    assert addin_install.plan("win32", tmp_path, {"APPDATA": r"C:\x"}, exe).config == {
        "Interpreter_Win": exe
    }


def test_macos_install_goes_to_the_office_startup_folder(tmp_path: Path) -> None:
    container = tmp_path / "Library" / "Group Containers" / "UBF8T346G9.Office"
    expected = container / "User Content.localized" / "Startup.localized" / "Excel"
    assert addin_install.startup_dir("darwin", tmp_path, {}) == expected
    target = addin_install.install(
        platform="darwin", home=tmp_path, env={}, executable="/opt/py/bin/python3"
    )
    assert target == expected / "gxsheet.xlam"
    rows = _config_rows(target)
    assert rows["Interpreter_Mac"] == "/opt/py/bin/python3" and rows["Interpreter_Win"] == ""
    script = f"xlwings-{xlwings.__version__}.applescript"
    assert (tmp_path / "Library" / "Application Scripts" / "com.microsoft.Excel" / script).is_file()
    assert addin_install.uninstall(platform="darwin", home=tmp_path, env={}) == target


def test_macos_prefers_an_existing_plain_startup_folder(tmp_path: Path) -> None:
    plain = tmp_path / "Library/Group Containers/UBF8T346G9.Office/User Content/Startup/Excel"
    plain.mkdir(parents=True)
    assert addin_install.startup_dir("darwin", tmp_path, {}) == plain


def test_install_refuses_a_python_the_add_in_could_not_start(tmp_path: Path) -> None:
    """An empty or vanished sys.executable would be written into the add-in and fail every
    button: the installer says so in Chinese instead."""
    for executable in ("", str(tmp_path / "gone" / "python.exe")):
        with pytest.raises(addin_install.NotReady, match="找不到当前 Python 解释器"):
            addin_install.current_interpreter(executable)
    assert addin_install.current_interpreter(sys.executable) == sys.executable


def test_install_refuses_without_the_pinned_xlwings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import PackageNotFoundError

    wanted = xlam.xlwings_version(MACROS)
    assert wanted == xlwings.__version__
    assert addin_install.check_xlwings(MACROS) == wanted

    def missing(_name: str) -> str:
        raise PackageNotFoundError("xlwings")

    with pytest.raises(addin_install.NotReady, match=r'(?s)没有安装 xlwings.*pip install "gxsheet\[addin\]"'):
        addin_install.check_xlwings(MACROS, installed=missing)
    with pytest.raises(addin_install.NotReady, match=f"xlwings 0.30.0，加载项需要 xlwings {wanted}"):
        addin_install.check_xlwings(MACROS, installed=lambda _name: "0.30.0")
    # through the command: exit 2, the Chinese reason, nothing written
    from gxsheet.cli.app import main

    appdata = tmp_path / "Roaming"
    real_check = addin_install.check_xlwings
    monkeypatch.setattr(addin_install, "check_xlwings", lambda m=None: real_check(m, installed=lambda _n: "0.30.0"))
    monkeypatch.setattr(addin_install, "install", functools.partial(
        addin_install.install, platform="win32", env={"APPDATA": str(appdata)}, executable=r"C:\Python311\python.exe"))
    assert main(["addin", "install"]) == 2
    err = capsys.readouterr().err
    assert "加载项需要 xlwings" in err and "Traceback" not in err
    assert not appdata.exists()


@pytest.mark.parametrize("platform", ["linux", "freebsd13", "emscripten"])
def test_other_platforms_are_refused_with_a_clear_message(tmp_path: Path, platform: str) -> None:
    with pytest.raises(AddinUnsupported) as excinfo:
        addin_install.install(platform=platform, home=tmp_path, env={})
    assert str(excinfo.value) == UNSUPPORTED_MESSAGE
    assert UNSUPPORTED_MESSAGE == (
        "Excel 加载项需要 Windows 或 macOS 上的 Microsoft Excel；"
        "WPS 和 LibreOffice 请直接使用模板的实时校验和 gxsheet 命令行。"
    )
    with pytest.raises(AddinUnsupported):
        addin_install.uninstall(platform=platform, home=tmp_path, env={})
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# LibreOffice: an independent VBA importer
# --------------------------------------------------------------------------------------------


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_imports_the_vba_modules(built: Path, tmp_path: Path) -> None:
    """LibreOffice's own MS-OVBA reader turns the project into a Basic library; saving as ODS
    writes that library out, so we can compare module names, kinds and code."""
    out_dir = tmp_path / "out"
    # .xlsm/.xlam type detection is unreliable headless, so name the import filter explicitly.
    command = [
        SOFFICE,
        f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
        "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
        "--infilter=Calc MS Excel 2007 VBA XML",
        "--convert-to", "ods", "--outdir", str(out_dir), str(built),
    ]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    ods = out_dir / "gxsheet.ods"
    assert ods.is_file(), f"soffice failed: {result.stdout}\n{result.stderr}"
    parts = _zip(ods)

    library = f"Basic/{xlam.VBA_PROJECT_NAME}/"
    index = ElementTree.fromstring(parts[library + "script-lb.xml"])
    listed = {el.get("{http://openoffice.org/2000/library}name") for el in index}
    modules = {m.name: m for m in xlam.load_modules(MACROS)}
    assert listed == set(modules)

    lo_kind = {"standard": "normal", "class": "class", "document": "document"}
    for name, module in modules.items():
        root = ElementTree.fromstring(parts[f"{library}{name}.xml"])
        assert root.get("{http://openoffice.org/2000/script}moduleType") == lo_kind[module.kind]
        lines = [
            line
            for line in (root.text or "").splitlines()
            if not line.startswith(("Rem Attribute VBA_ModuleType", "Option VBASupport",
                                    "Option ClassModule"))
        ]
        while lines and not lines[-1].strip():
            lines.pop()
        assert lines == _without_attributes(module.code), name

    content = parts["content.xml"].decode("utf-8")
    assert 'table:name="xlwings.conf"' in content
    assert "Interpreter_Win" in content and "Show Console" in content
