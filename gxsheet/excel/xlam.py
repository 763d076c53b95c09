"""Build the gxsheet Excel add-in (``gxsheet.xlam``) from the text sources in ``macros/``.

Why this module exists
----------------------
An ``.xlam`` is normally produced by clicking around in Excel and saving, which leaves a binary
``vbaProject.bin`` in the repository that nobody can review, diff or rebuild on Linux CI. Here the
add-in is *compiled from text* instead:

* ``macros/*.bas`` / ``macros/*.cls`` — the VBA modules (our ribbon callbacks plus xlwings' own
  ``RunPython`` module, vendored by ``macros/update_xlwings_bas.py``);
* ``macros/customUI.xml`` — the ribbon (stored as ``customUI/customUI14.xml``);
* ``macros/config.json`` — the rows of the ``xlwings.conf`` sheet that xlwings reads.

No binary is ever edited by hand. ``build_xlam`` is deterministic — the same inputs give a
byte-identical file (fixed ZIP timestamps and member order, stored rather than deflated members so
the bytes do not depend on the zlib build, no random GUIDs, seeds or timestamps in the compound
file) — so anyone can rebuild the release artefact and compare hashes.

The VBA project is written per [MS-OVBA] into a compound file per [MS-CFB]:

* ``VBA/dir`` — project information, references (OLE Automation and the Office library, which
  defines ``IRibbonControl``) and one record per module, compressed with the MS-OVBA algorithm;
* ``VBA/_VBA_PROJECT`` — the 7-byte header with version 0xFFFF and no performance cache;
* ``VBA/<module>`` — each module's source, compressed, at offset 0: there is no p-code, so Excel
  compiles the source on first load (exactly what it does for a project saved by another VBA
  version);
* ``PROJECT`` / ``PROJECTwm`` — the text project description and the module-name map.

``ms-ovba`` 0.0.1 on PyPI was evaluated and not used: it writes its intermediate files into the
current directory, draws random seeds (non-reproducible ``CMG``/``DPB``/``GC``), its compressor
computes the copy-token maximum length wrongly and pads a raw final chunk with NULs, and it pulls
in three more unpinned packages. The format is small enough to write here, and the tests check it
against independent readers (oletools' olevba and olefile, and LibreOffice when installed).

Every module's source must be ASCII: VBA stores source in the project's ANSI code page, so any
other text would read differently under another system locale or on Mac Excel.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import tempfile
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

ADDIN_FILENAME = "gxsheet.xlam"
CONFIG_SHEET = "xlwings.conf"
VBA_PROJECT_NAME = "GxsheetAddin"
CODEPAGE = 1252  # only ASCII is ever written, so the code page never changes a byte of source
CUSTOMUI_NS = "http://schemas.microsoft.com/office/2009/07/customui"
CUSTOMUI_PART = "customUI/customUI14.xml"
REL_CUSTOMUI14 = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"

ConfigValue = str | bool | int | float
ModuleKind = Literal["standard", "class", "document"]


# ---------------------------------------------------------------------------------------------
# MS-OVBA 2.4.1: compression
# ---------------------------------------------------------------------------------------------

_CHUNK = 4096
_MAX_CANDIDATES = 64  # bounds match search; only affects the ratio, output stays deterministic


def _copy_token_bits(difference: int) -> int:
    """BitCount of a CopyToken at ``difference`` bytes into the chunk (MS-OVBA 2.4.1.3.19.1)."""
    return max((difference - 1).bit_length(), 4)


def _compress_chunk(chunk: bytes) -> bytes:
    """One CompressedChunk (header + token sequences) for at most 4096 decompressed bytes."""
    out = bytearray()
    positions: dict[bytes, list[int]] = {}
    pos, end = 0, len(chunk)
    while pos < end:
        flag_at = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= end:
                break
            bit_count = _copy_token_bits(pos)
            max_length = min((0xFFFF >> bit_count) + 3, end - pos)
            best_length, best_offset = 0, 0
            if max_length >= 3:
                for candidate in reversed(positions.get(chunk[pos : pos + 3], ())[-_MAX_CANDIDATES:]):
                    length = 3
                    while length < max_length and chunk[candidate + length] == chunk[pos + length]:
                        length += 1
                    if length > best_length:
                        best_length, best_offset = length, pos - candidate
                        if length == max_length:
                            break
            step = best_length if best_length >= 3 else 1
            if best_length >= 3:
                token = ((best_offset - 1) << (16 - bit_count)) | (best_length - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
            else:
                out.append(chunk[pos])
            for index in range(pos, pos + step):
                if index + 3 <= end:
                    positions.setdefault(chunk[index : index + 3], []).append(index)
            pos += step
        out[flag_at] = flags
    if len(out) <= _CHUNK:
        return struct.pack("<H", 0xB000 | (len(out) + 2 - 3)) + bytes(out)
    if len(chunk) == _CHUNK:  # incompressible: a raw chunk holds exactly 4096 bytes
        return struct.pack("<H", 0x3000 | (_CHUNK + 2 - 3)) + chunk
    # A raw final chunk would be padded to 4096 bytes and the padding would become source text.
    raise ValueError("final chunk is incompressible; MS-OVBA cannot store it losslessly")


def compress(data: bytes) -> bytes:
    """MS-OVBA CompressedContainer (2.4.1.1.1) of ``data``: signature 0x01 + chunks."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), _CHUNK):
        out += _compress_chunk(data[start : start + _CHUNK])
    return bytes(out)


def decompress(container: bytes) -> bytes:
    """Inverse of :func:`compress` (MS-OVBA 2.4.1.3.1), used to verify every written stream."""
    if not container or container[0] != 0x01:
        raise ValueError("not an MS-OVBA compressed container (signature byte must be 0x01)")
    out = bytearray()
    pos = 1
    while pos < len(container):
        (header,) = struct.unpack_from("<H", container, pos)
        size = (header & 0x0FFF) + 3
        if (header >> 12) & 0b111 != 0b011:
            raise ValueError(f"bad chunk signature at byte {pos}")
        data, pos = container[pos + 2 : pos + size], pos + size
        chunk_start = len(out)
        if not header & 0x8000:
            out += data
            continue
        index = 0
        while index < len(data):
            flags = data[index]
            index += 1
            for bit in range(8):
                if index >= len(data):
                    break
                if not flags & (1 << bit):
                    out.append(data[index])
                    index += 1
                    continue
                (token,) = struct.unpack_from("<H", data, index)
                index += 2
                bit_count = _copy_token_bits(len(out) - chunk_start)
                length = (token & (0xFFFF >> bit_count)) + 3
                offset = (token >> (16 - bit_count)) + 1
                for _ in range(length):
                    out.append(out[-offset])
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# MS-OVBA 2.4.3: data encryption of the PROJECT stream's CMG / DPB / GC values
# ---------------------------------------------------------------------------------------------

# Any seed is valid; a fixed one keeps the build reproducible. Bits 1-2 are zero, so there are no
# "ignored" filler bytes either.
_SEED = 0x39


def encrypt(project_id: str, data: bytes, seed: int = _SEED) -> bytes:
    """Obfuscate ``data`` as MS-OVBA 2.4.3.2 specifies (key = byte sum of the project id)."""
    version = 2
    proj_key = sum(project_id.encode("ascii")) & 0xFF
    version_enc, proj_key_enc = seed ^ version, seed ^ proj_key
    out = bytearray([seed, version_enc, proj_key_enc])
    unencrypted1, encrypted1, encrypted2 = proj_key, proj_key_enc, version_enc
    filler = bytes((seed & 6) // 2)
    for byte in filler + struct.pack("<I", len(data)) + data:
        byte_enc = byte ^ ((unencrypted1 + encrypted2) & 0xFF)
        out.append(byte_enc)
        encrypted2, encrypted1, unencrypted1 = encrypted1, byte_enc, byte
    return bytes(out)


def decrypt(blob: bytes) -> bytes:
    """Inverse of :func:`encrypt`; returns the Data field."""
    seed, version_enc, proj_key_enc = blob[0], blob[1], blob[2]
    if version_enc ^ seed != 2:
        raise ValueError("unsupported MS-OVBA encryption version")
    unencrypted1, encrypted1, encrypted2 = proj_key_enc ^ seed, proj_key_enc, version_enc
    plain = bytearray()
    for byte_enc in blob[3:]:
        byte = byte_enc ^ ((unencrypted1 + encrypted2) & 0xFF)
        plain.append(byte)
        encrypted2, encrypted1, unencrypted1 = encrypted1, byte_enc, byte
    ignored = (seed & 6) // 2
    (length,) = struct.unpack_from("<I", plain, ignored)
    return bytes(plain[ignored + 4 : ignored + 4 + length])


# ---------------------------------------------------------------------------------------------
# VBA modules and the VBA project streams
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VbaModule:
    """One VBA module as stored in the project: ``code`` starts with ``Attribute VB_Name``."""

    name: str
    kind: ModuleKind
    code: str

    def source_bytes(self) -> bytes:
        """CRLF-terminated ASCII source, the exact bytes compressed into the module stream."""
        text = "\r\n".join(self.code.splitlines()) + "\r\n"
        try:
            return text.encode("ascii")
        except UnicodeEncodeError as exc:
            line = text[: exc.start].count("\n") + 1
            raise ValueError(
                f"VBA module {self.name}: non-ASCII character {text[exc.start]!r} on line {line}; "
                "VBA stores source in an ANSI code page, build such text with ChrW() instead"
            ) from exc


_VB_NAME_RE = re.compile(r'^Attribute VB_Name = "([A-Za-z][A-Za-z0-9_]*)"\s*$')

# Document modules of the workbook and of the config sheet (codeName ThisWorkbook / Sheet1).
# VB_Base names Excel's fixed type-library CLSIDs for Workbook and Worksheet objects.
_DOCUMENT_BASES = {
    "ThisWorkbook": "0{00020819-0000-0000-C000-000000000046}",
    "Sheet1": "0{00020820-0000-0000-C000-000000000046}",
}


def _document_module(name: str) -> VbaModule:
    """An empty document module, as Excel writes it for a workbook or sheet without code."""
    lines = [
        f'Attribute VB_Name = "{name}"',
        f'Attribute VB_Base = "{_DOCUMENT_BASES[name]}"',
        "Attribute VB_GlobalNameSpace = False",
        "Attribute VB_Creatable = False",
        "Attribute VB_PredeclaredId = True",
        "Attribute VB_Exposed = True",
        "Attribute VB_TemplateDerived = False",
        "Attribute VB_Customizable = True",
    ]
    return VbaModule(name, "document", "\n".join(lines))


# What Excel stores at the top of a class module, in this order (read back from class modules
# Excel itself saved, e.g. Dictionary in xlwings' quickstart add-in). An exported .cls file
# leaves out VB_Base, VB_TemplateDerived and VB_Customizable; VBE adds them again on import,
# so the builder must too. The values are what VBE gives a new class module.
_CLASS_BASE = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"  # the CLSID of every VBA class module
_CLASS_ATTRIBUTES = (
    ("VB_Base", f'"{_CLASS_BASE}"'),
    ("VB_GlobalNameSpace", "False"),
    ("VB_Creatable", "False"),
    ("VB_PredeclaredId", "False"),
    ("VB_Exposed", "False"),
    ("VB_TemplateDerived", "False"),
    ("VB_Customizable", "False"),
)
_MODULE_ATTRIBUTE_RE = re.compile(r"^Attribute (VB_\w+) = (.*)$")


def class_header(lines: Sequence[str]) -> list[str]:
    """``lines`` (starting with ``Attribute VB_Name``) with the class attributes Excel writes.

    The module-level ``Attribute`` lines after VB_Name become the standard block in Excel's
    order — a value given in the source wins, a missing one gets VBE's default — followed by
    any other module attributes (``VB_Description`` …) as they were.
    """
    given: dict[str, str] = {}
    others: list[str] = []
    index = 1
    while index < len(lines) and (match := _MODULE_ATTRIBUTE_RE.match(lines[index])):
        if match.group(1) in dict(_CLASS_ATTRIBUTES):
            given[match.group(1)] = match.group(2)
        else:
            others.append(lines[index])
        index += 1
    block = [f"Attribute {key} = {given.get(key, default)}" for key, default in _CLASS_ATTRIBUTES]
    return [lines[0], *block, *others, *lines[index:]]


def read_module(path: Path) -> VbaModule:
    """Load a ``.bas`` (standard) or ``.cls`` (class) export; the name comes from VB_Name."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if path.suffix.lower() == ".cls":
        # Drop the "VERSION 1.0 CLASS / BEGIN ... END" export header if present.
        while lines and not lines[0].startswith("Attribute VB_Name"):
            lines.pop(0)
        kind: ModuleKind = "class"
    elif path.suffix.lower() == ".bas":
        kind = "standard"
    else:
        raise ValueError(f"{path}: not a .bas or .cls file")
    match = _VB_NAME_RE.match(lines[0]) if lines else None
    if match is None:
        raise ValueError(f'{path}: the first line must be Attribute VB_Name = "<ModuleName>"')
    if kind == "class":
        lines = class_header(lines)
    return VbaModule(match.group(1), kind, "\n".join(lines))


def load_modules(macros_dir: Path) -> list[VbaModule]:
    """All modules of the add-in: the two document modules, then ``macros/*.bas|*.cls`` by name."""
    sources = sorted(
        (p for p in macros_dir.iterdir() if p.suffix.lower() in (".bas", ".cls")),
        key=lambda p: p.name.lower(),
    )
    modules = [_document_module("ThisWorkbook"), _document_module("Sheet1")]
    modules += [read_module(p) for p in sources]
    names = [m.name.lower() for m in modules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate VBA module names: {duplicates}")
    return modules


# Registered type libraries (MS-OVBA 2.1.1.8 LibidReference). VBA resolves them by GUID and
# version; the path is only a hint, as in every project Excel saves.
_REFERENCES = (
    (
        "stdole",
        (
            "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#"
            "C:\\Windows\\System32\\stdole2.tlb#OLE Automation"
        ),
    ),
    (
        "Office",
        (
            "*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#"
            "C:\\Program Files\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL"
            "#Microsoft Office 16.0 Object Library"
        ),
    ),
)

# Fixed project id (MS-OVBA 2.3.1.2): derived, not random, so the build is reproducible.
PROJECT_ID = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "gxsheet:xlam:VBAProject")).upper() + "}"


def _record(record_id: int, data: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(data)) + data


def _double(id_mbcs: int, id_unicode: int, text: str) -> bytes:
    """A record pair holding ``text`` in the code page and in UTF-16LE."""
    return _record(id_mbcs, text.encode("ascii")) + _record(id_unicode, text.encode("utf-16-le"))


def dir_stream(modules: Sequence[VbaModule], project_name: str = VBA_PROJECT_NAME) -> bytes:
    """The uncompressed ``VBA/dir`` stream (MS-OVBA 2.3.4.2)."""
    out = bytearray()
    out += _record(0x0001, struct.pack("<I", 3))  # SYSKIND: 64-bit Windows
    out += _record(0x0002, struct.pack("<I", 0x0409))  # LCID
    out += _record(0x0014, struct.pack("<I", 0x0409))  # LCIDINVOKE
    out += _record(0x0003, struct.pack("<H", CODEPAGE))
    out += _record(0x0004, project_name.encode("ascii"))  # NAME
    out += _double(0x0005, 0x0040, "")  # DOCSTRING
    out += _double(0x0006, 0x003D, "")  # HELPFILEPATH (HelpFile1 / HelpFile2)
    out += _record(0x0007, struct.pack("<I", 0))  # HELPCONTEXT
    out += _record(0x0008, struct.pack("<I", 0))  # LIBFLAGS
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)  # VERSION: Reserved=4, major 1, minor 0
    out += _double(0x000C, 0x003C, "")  # CONSTANTS
    for name, libid in _REFERENCES:
        out += _double(0x0016, 0x003E, name)  # REFERENCENAME
        encoded = libid.encode("ascii")
        body = struct.pack("<I", len(encoded)) + encoded + struct.pack("<IH", 0, 0)
        out += _record(0x000D, body)  # REFERENCEREGISTERED
    out += _record(0x000F, struct.pack("<H", len(modules)))  # PROJECTMODULES
    out += _record(0x0013, struct.pack("<H", 0xFFFF))  # PROJECTCOOKIE
    for module in modules:
        out += _double(0x0019, 0x0047, module.name)  # MODULENAME / MODULENAMEUNICODE
        out += _double(0x001A, 0x0032, module.name)  # MODULESTREAMNAME
        out += _double(0x001C, 0x0048, "")  # MODULEDOCSTRING
        out += _record(0x0031, struct.pack("<I", 0))  # MODULEOFFSET: source starts at byte 0
        out += _record(0x001E, struct.pack("<I", 0))  # MODULEHELPCONTEXT
        out += _record(0x002C, struct.pack("<H", 0xFFFF))  # MODULECOOKIE
        out += _record(0x0021 if module.kind == "standard" else 0x0022, b"")  # MODULETYPE
        out += _record(0x002B, b"")  # module terminator
    out += _record(0x0010, b"")  # dir terminator
    return bytes(out)


def project_stream(modules: Sequence[VbaModule], project_name: str = VBA_PROJECT_NAME) -> bytes:
    """The ``PROJECT`` stream (MS-OVBA 2.3.1): text, CRLF lines."""
    cmg = encrypt(PROJECT_ID, bytes(4)).hex().upper()  # ProjectProtectionState: none
    dpb = encrypt(PROJECT_ID, bytes(1)).hex().upper()  # ProjectPassword: none (0x00)
    gc = encrypt(PROJECT_ID, bytes([0xFF])).hex().upper()  # ProjectVisibilityState: visible
    lines = [f'ID="{PROJECT_ID}"']
    for module in modules:
        if module.kind == "document":
            lines.append(f"Document={module.name}/&H00000000")
        elif module.kind == "class":
            lines.append(f"Class={module.name}")
        else:
            lines.append(f"Module={module.name}")
    lines += [
        f'Name="{project_name}"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        # Unprotected, no password, visible (MS-OVBA 2.3.1.15-17).
        f'CMG="{cmg}"',
        f'DPB="{dpb}"',
        f'GC="{gc}"',
        "",
        "[Host Extender Info]",
        "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
        "",
        "[Workspace]",
    ]
    lines += [f"{module.name}=0, 0, 0, 0, C" for module in modules]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def projectwm_stream(modules: Sequence[VbaModule]) -> bytes:
    """The ``PROJECTwm`` stream (MS-OVBA 2.3.3): each name in the code page and in UTF-16."""
    out = bytearray()
    for module in modules:
        out += module.name.encode("ascii") + b"\x00" + module.name.encode("utf-16-le") + b"\x00\x00"
    return bytes(out + b"\x00\x00")


def _checked_compress(data: bytes, what: str) -> bytes:
    compressed = compress(data)
    if decompress(compressed) != data:  # cheap insurance: never ship a stream that won't inflate
        raise AssertionError(f"MS-OVBA compression did not round-trip for {what}")
    return compressed


def vba_project_bin(modules: Sequence[VbaModule], project_name: str = VBA_PROJECT_NAME) -> bytes:
    """The complete ``xl/vbaProject.bin`` compound file for ``modules``."""
    vba: dict[str, bytes] = {
        "_VBA_PROJECT": struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0001),
        "dir": _checked_compress(dir_stream(modules, project_name), "dir"),
    }
    for module in modules:
        vba[module.name] = _checked_compress(module.source_bytes(), module.name)
    tree: CfbTree = {
        "PROJECT": project_stream(modules, project_name),
        "PROJECTwm": projectwm_stream(modules),
        "VBA": vba,
    }
    return write_cfb(tree)


# ---------------------------------------------------------------------------------------------
# MS-CFB: a minimal deterministic compound-file writer (version 3, 512-byte sectors)
# ---------------------------------------------------------------------------------------------

CfbTree = Mapping[str, "bytes | CfbTree"]

_FREESECT, _ENDOFCHAIN, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_SECTOR, _MINI_SECTOR, _MINI_CUTOFF = 512, 64, 4096


def _cfb_key(name: str) -> tuple[int, str]:
    """MS-CFB 2.6.4 sibling order: shorter names first, then by upper-cased UTF-16."""
    return (len(name.encode("utf-16-le")), name.upper())


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    children: list[int] | None = None
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    black: bool = True
    start: int = _ENDOFCHAIN
    size: int = 0


def _balanced_tree(entries: list[_Entry], ids: list[int]) -> int:
    """Link ``ids`` (sorted) into a balanced BST; colour it as a valid red-black tree.

    A median split leaves every null link at depth ``h`` or ``h - 1``; colouring the nodes on
    the deepest level red (when that level is not full) gives every path the same number of
    black nodes, and red nodes only ever have no children.
    """
    depth: dict[int, int] = {}

    def build(lo: int, hi: int, level: int) -> int:
        if lo >= hi:
            return _NOSTREAM
        mid = (lo + hi) // 2
        node = ids[mid]
        depth[node] = level
        entries[node].left = build(lo, mid, level + 1)
        entries[node].right = build(mid + 1, hi, level + 1)
        return node

    root = build(0, len(ids), 0)
    if ids:
        deepest = max(depth.values())
        if len(ids) != 2 ** (deepest + 1) - 1:
            for node, level in depth.items():
                entries[node].black = level != deepest
    return root


def write_cfb(tree: CfbTree) -> bytes:
    """Serialise a nested ``{name: bytes | {…}}`` mapping as a compound file.

    Determinism: entries are numbered breadth-first in MS-CFB name order, all CLSIDs, state bits
    and timestamps are zero, and streams are laid out in entry order.
    """
    entries = [_Entry("Root Entry", 5)]
    queue: list[tuple[int, CfbTree]] = [(0, tree)]
    while queue:
        parent, mapping = queue.pop(0)
        child_ids = []
        for name in sorted(mapping, key=_cfb_key):
            if len(name) > 31:
                raise ValueError(f"compound-file name too long: {name!r}")
            value = mapping[name]
            entries.append(
                _Entry(name, 2, data=value) if isinstance(value, bytes) else _Entry(name, 1)
            )
            child_ids.append(len(entries) - 1)
            if not isinstance(value, bytes):
                queue.append((len(entries) - 1, value))
        entries[parent].child = _balanced_tree(entries, child_ids)

    # Mini stream (small streams) and regular streams.
    mini = bytearray()
    mini_fat: list[int] = []
    large: list[_Entry] = []
    for entry in entries:
        if entry.kind != 2:
            continue
        entry.size = len(entry.data)
        if entry.size == 0:
            continue
        if entry.size < _MINI_CUTOFF:
            first = len(mini) // _MINI_SECTOR
            count = -(-entry.size // _MINI_SECTOR)
            entry.start = first
            mini_fat += [first + i + 1 for i in range(count - 1)] + [_ENDOFCHAIN]
            mini += entry.data.ljust(count * _MINI_SECTOR, b"\x00")
        else:
            large.append(entry)

    def sectors(n_bytes: int) -> int:
        return -(-n_bytes // _SECTOR)

    dir_sectors = sectors(len(entries) * 128)
    minifat_sectors = sectors(len(mini_fat) * 4)
    ministream_sectors = sectors(len(mini))
    data_sectors = sum(sectors(e.size) for e in large)
    payload = dir_sectors + minifat_sectors + ministream_sectors + data_sectors
    fat_sectors = 1
    while fat_sectors * (_SECTOR // 4) < payload + fat_sectors:
        fat_sectors += 1
    if fat_sectors > 109:
        raise ValueError("compound file too large for a header-only DIFAT")

    fat: list[int] = [_FATSECT] * fat_sectors
    body = bytearray()

    def place(data: bytes) -> int:
        first, count = len(fat), sectors(len(data))
        fat.extend([first + i + 1 for i in range(count - 1)] + [_ENDOFCHAIN])
        body.extend(data.ljust(count * _SECTOR, b"\x00"))
        return first

    # Directory: entries padded to whole sectors with unused entries.
    directory = bytearray()
    dir_start = len(fat)
    fat.extend([dir_start + i + 1 for i in range(dir_sectors - 1)] + [_ENDOFCHAIN])
    minifat_start = place(b"".join(struct.pack("<I", v) for v in mini_fat)) if mini_fat else None
    if mini:
        entries[0].start = place(bytes(mini))
        entries[0].size = len(mini)
    for entry in large:
        entry.start = place(entry.data)

    for entry in entries:
        encoded = (entry.name + "\x00").encode("utf-16-le")
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ",
            encoded,
            len(encoded),
            entry.kind,
            1 if entry.black else 0,
            entry.left,
            entry.right,
            entry.child,
            bytes(16),
            0,
            0,
            0,
            entry.start if (entry.kind != 1) else 0,
            entry.size,
        )
    unused = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM,
                         bytes(16), 0, 0, 0, 0, 0)
    while len(directory) % _SECTOR:
        directory += unused

    fat.extend([_FREESECT] * (fat_sectors * (_SECTOR // 4) - len(fat)))
    difat = list(range(fat_sectors)) + [_FREESECT] * (109 - fat_sectors)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        bytes.fromhex("D0CF11E0A1B11AE1"),
        bytes(16),
        0x003E,  # minor version
        0x0003,  # major version 3: 512-byte sectors
        0xFFFE,  # little-endian
        9,  # sector shift: 2**9
        6,  # mini sector shift: 2**6
        bytes(6),
        0,  # number of directory sectors: must be 0 in version 3
        fat_sectors,
        dir_start,
        0,  # transaction signature
        _MINI_CUTOFF,
        minifat_start if minifat_start is not None else _ENDOFCHAIN,
        minifat_sectors,
        _ENDOFCHAIN,  # first DIFAT sector: none
        0,
    ) + struct.pack("<109I", *difat)
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    # File order: header, FAT, directory, then everything placed by place() in order.
    return header + fat_bytes + bytes(directory) + bytes(body)


# ---------------------------------------------------------------------------------------------
# The OOXML package
# ---------------------------------------------------------------------------------------------

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the ZIP epoch: no build time leaks into the file
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_REL_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def default_macros_dir() -> Path:
    """``gxsheet/macros`` (source tree, editable or wheel install)."""
    from gxsheet.core.data import data_dir

    candidate = data_dir("macros")
    if (candidate / "customUI.xml").is_file():
        return candidate
    raise FileNotFoundError(
        "macros/ (VBA, ribbon and config sources of the Excel add-in) not found next to gxsheet"
    )


_XLWINGS_VERSION_RE = re.compile(r'^Public Const XLWINGS_VERSION As String = "([^"]+)"', re.MULTILINE)


def xlwings_version(macros_dir: Path | None = None) -> str:
    """The xlwings version the vendored ``xlwings.bas`` was taken from.

    The VBA names this version's DLL and AppleScript, so the Python side must have exactly this
    xlwings; the installer and the offline bundle check against it.
    """
    source = (Path(macros_dir) if macros_dir is not None else default_macros_dir()) / "xlwings.bas"
    match = _XLWINGS_VERSION_RE.search(source.read_text(encoding="ascii"))
    if match is None:
        raise ValueError(f"{source}: no XLWINGS_VERSION constant")
    return match.group(1)


def load_config(macros_dir: Path) -> dict[str, ConfigValue]:
    """The ``xlwings.conf`` rows from ``macros/config.json`` (key order is row order)."""
    raw = json.loads((macros_dir / "config.json").read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise TypeError("config.json must be a JSON object of xlwings.conf key/value rows")
    for key, value in raw.items():
        if not key or not isinstance(value, str | bool | int | float):
            raise ValueError(f"config.json: unsupported row {key!r}: {value!r}")
    return raw


def ribbon_callbacks(customui_xml: bytes) -> list[str]:
    """Every ``onAction`` value in a customUI document, in document order."""
    root = ElementTree.fromstring(customui_xml)
    return [el.attrib["onAction"] for el in root.iter() if "onAction" in el.attrib]


_CALLBACK_SUB_RE = r"^\s*(?:Public\s+)?Sub\s+{name}\s*\(\s*control\s+As\s+IRibbonControl\s*\)"


def check_customui(customui_xml: bytes, modules: Sequence[VbaModule]) -> None:
    """Fail the build if the ribbon is not customUI14 or names a callback the VBA lacks."""
    root = ElementTree.fromstring(customui_xml)
    if root.tag != f"{{{CUSTOMUI_NS}}}customUI":
        raise ValueError(f"customUI.xml: root must be customUI in namespace {CUSTOMUI_NS}")
    by_name = {m.name.lower(): m for m in modules}
    for action in ribbon_callbacks(customui_xml):
        module_name, _, sub = action.rpartition(".")
        candidates = [by_name.get(module_name.lower())] if module_name else list(by_name.values())
        pattern = re.compile(
            _CALLBACK_SUB_RE.format(name=re.escape(sub)), re.IGNORECASE | re.MULTILINE
        )
        if not any(m is not None and pattern.search(m.code) for m in candidates):
            raise ValueError(
                f"customUI.xml: onAction {action!r} has no matching "
                f"'Sub {sub}(control As IRibbonControl)' in the VBA modules"
            )


def _cell_ref(row: int, column: int) -> str:
    return f"{'AB'[column]}{row}"


def _sheet_parts(config: Mapping[str, ConfigValue]) -> tuple[str, str]:
    """(sheet1.xml, sharedStrings.xml) holding ``config`` as key/value rows from A1 down.

    xlwings reads the sheet from A1 to the first blank cell of column A (``End(xlDown)``), so
    rows are contiguous; an empty value leaves the B cell out.
    """
    strings: list[str] = []

    def shared(text: str) -> int:
        if text not in strings:
            strings.append(text)
        return strings.index(text)

    rows = []
    for row, (key, value) in enumerate(config.items(), start=1):
        cells = [f'<c r="{_cell_ref(row, 0)}" t="s"><v>{shared(key)}</v></c>']
        if isinstance(value, bool):
            cells.append(f'<c r="{_cell_ref(row, 1)}" t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, int | float):
            cells.append(f'<c r="{_cell_ref(row, 1)}"><v>{value!r}</v></c>')
        elif value != "":
            cells.append(f'<c r="{_cell_ref(row, 1)}" t="s"><v>{shared(value)}</v></c>')
        rows.append(f'<row r="{row}">{"".join(cells)}</row>')
    last = max(len(config), 1)
    sheet = (
        f'{_XML_DECL}<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_R}">'
        '<sheetPr codeName="Sheet1"/>'
        f'<dimension ref="A1:B{last}"/>'
        '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        '<cols><col min="1" max="1" width="20" customWidth="1"/>'
        '<col min="2" max="2" width="60" customWidth="1"/></cols>'
        f'<sheetData>{"".join(rows)}</sheetData>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        "</worksheet>"
    )
    items = "".join(
        f'<si><t xml:space="preserve">{escape(s)}</t></si>'
        if s != s.strip()
        else f"<si><t>{escape(s)}</t></si>"
        for s in strings
    )
    sst = (
        f'{_XML_DECL}<sst xmlns="{_NS_MAIN}" count="{len(strings)}" '
        f'uniqueCount="{len(strings)}">{items}</sst>'
    )
    return sheet, sst


def _relationships(rels: Sequence[tuple[str, str, str]]) -> str:
    body = "".join(
        f"<Relationship Id={quoteattr(rid)} Type={quoteattr(rtype)} Target={quoteattr(target)}/>"
        for rid, rtype, target in rels
    )
    return f'{_XML_DECL}<Relationships xmlns="{_NS_PKG_REL}">{body}</Relationships>'


_CONTENT_TYPES = (
    f'{_XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.ms-excel.addin.macroEnabled.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '<Override PartName="/xl/vbaProject.bin" ContentType="application/vnd.ms-office.vbaProject"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)

# The add-in's name and description in Excel's Add-ins dialog come from the core properties.
_CORE = (
    f"{_XML_DECL}<cp:coreProperties "
    'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/">'
    "<dc:title>gxsheet 政务公开年报</dc:title>"
    "<dc:description>政府信息公开工作年度报告：校验、导出文本、新建模板（gxsheet + xlwings）"
    "</dc:description>"
    "<dc:creator>gxsheet</dc:creator>"
    "</cp:coreProperties>"
)

_WORKBOOK = (
    f'{_XML_DECL}<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_R}">'
    '<workbookPr codeName="ThisWorkbook"/>'
    # The add-in window is hidden; the sheet itself stays "visible" because a workbook needs at
    # least one visible sheet, and an add-in's sheets are never shown anyway.
    '<bookViews><workbookView visibility="hidden"/></bookViews>'
    f'<sheets><sheet name="{CONFIG_SHEET}" sheetId="1" r:id="rId1"/></sheets>'
    "</workbook>"
)

_STYLES = (
    f'{_XML_DECL}<styleSheet xmlns="{_NS_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def xlam_parts(
    macros_dir: Path, config: Mapping[str, ConfigValue] | None = None
) -> list[tuple[str, bytes]]:
    """Every ZIP member of the add-in, in the order they are written."""
    modules = load_modules(macros_dir)
    customui = (macros_dir / "customUI.xml").read_bytes()
    check_customui(customui, modules)
    values = load_config(macros_dir)
    values.update(config or {})
    sheet, sst = _sheet_parts(values)
    root_rels = _relationships(
        [
            ("rId1", f"{_REL_DOC}/officeDocument", "xl/workbook.xml"),
            ("rId2", f"{_NS_PKG_REL}/metadata/core-properties", "docProps/core.xml"),
            ("rId3", REL_CUSTOMUI14, CUSTOMUI_PART),
        ]
    )
    workbook_rels = _relationships(
        [
            ("rId1", f"{_REL_DOC}/worksheet", "worksheets/sheet1.xml"),
            ("rId2", f"{_REL_DOC}/styles", "styles.xml"),
            ("rId3", f"{_REL_DOC}/sharedStrings", "sharedStrings.xml"),
            ("rId4", "http://schemas.microsoft.com/office/2006/relationships/vbaProject",
             "vbaProject.bin"),
        ]
    )
    text_parts = [
        ("[Content_Types].xml", _CONTENT_TYPES),
        ("_rels/.rels", root_rels),
        ("docProps/core.xml", _CORE),
        ("xl/workbook.xml", _WORKBOOK),
        ("xl/_rels/workbook.xml.rels", workbook_rels),
        ("xl/worksheets/sheet1.xml", sheet),
        ("xl/styles.xml", _STYLES),
        ("xl/sharedStrings.xml", sst),
    ]
    parts = [(name, text.encode("utf-8")) for name, text in text_parts]
    parts.append(("xl/vbaProject.bin", vba_project_bin(modules)))
    parts.append((CUSTOMUI_PART, customui))
    return parts


def _zip_bytes(parts: Sequence[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_STORED  # deflate output depends on the zlib build
            info.create_system = 0
            info.external_attr = 0
            archive.writestr(info, data)
    return buffer.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder + ``os.replace``: never a half-written add-in
    (Excel may be loading the old one from XLSTART while we write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def build_xlam(
    out_path: Path,
    macros_dir: Path | None = None,
    *,
    config: Mapping[str, ConfigValue] | None = None,
) -> Path:
    """Build the add-in at ``out_path`` (atomically) and return that path.

    ``macros_dir`` defaults to the repository's ``macros/``. ``config`` overrides rows of
    ``config.json`` in the ``xlwings.conf`` sheet; the installer uses it to fill in the
    interpreter, so the build itself never depends on the machine it runs on.
    """
    out_path = Path(out_path)
    source = Path(macros_dir) if macros_dir is not None else default_macros_dir()
    write_atomic(out_path, _zip_bytes(xlam_parts(source, config)))
    return out_path
