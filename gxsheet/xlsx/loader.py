"""The guarded loader: every command opens user workbooks through here.

Workbooks come from hundreds of offices we do not control, so before a single byte of XML
is parsed the file is vetted:

* the path must be a readable, non-empty regular file (directories, FIFOs, dangling
  symlinks and symlink loops are refused without blocking);
* the type is decided by *content*, not by extension, so a renamed ``.xls``, an encrypted
  workbook or an HTML table saved as ``.xlsx`` gets a message that says what to do;
* the zip container is checked from its central directory before anything is inflated:
  size, member count, declared total and per-member compression ratio (zip bombs), and
  sizes that contradict the compressed data; parts are then inflated in bounded steps
  that never go past their declared size (``ZipFile.read`` would not guarantee that);
* every member is then inflated once, in bounded steps, before any part is parsed: only
  stored/deflate members (what Excel writes), data that inflates to exactly its declared
  size (a header that understates it is a bomb aimed at whoever reads that part next:
  openpyxl for ``--annotate``, Excel, LibreOffice), a matching CRC, and no DOCTYPE in the
  prolog of *any* part, read by us or not;
* XML is parsed with expat with any DOCTYPE refused outright, which rules out entity
  expansion ("billion laughs") and external entities (XXE) - Excel never writes a DOCTYPE;
* readers charge the XML elements they process against a per-workbook budget, so even a
  file that is huge in ways no other limit counts is refused within a couple of seconds.

Macros, external links and embedded objects are never executed or followed; the reader
simply never opens those parts.

Every refusal is a :class:`LoadError` with a short machine ``kind`` and a one-line message
in Chinese and English naming the file, the problem and the fix.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import zipfile
import zlib
from typing import IO, Any, Self
from xml.etree import ElementTree as ET
from xml.parsers import expat

from gxsheet.core.errors import LoadError, one_line
from gxsheet.core.errors import load_error as _error
from gxsheet.core.limits import DEFAULT_LIMITS, MB, Limits

__all__ = [
    "DEFAULT_LIMITS",
    "EXCEL_SUFFIXES",
    "Limits",
    "LoadError",
    "Package",
    "new_parser",
    "one_line",
    "open_package",
    "peek_member",
    "sniff",
    "verify_package",
]


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

MACRO_CONTENT_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
MACRO_TEMPLATE_CONTENT_TYPE = "application/vnd.ms-excel.template.macroEnabled.main+xml"

#: What zipfile raises on malformed archives and members (it has no single error class: a
#: bogus "version needed" gives NotImplementedError, a short record struct.error, a name
#: flagged UTF-8 that is not UnicodeDecodeError).
_ZIP_OPEN_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    ValueError,
    OSError,
    struct.error,
    NotImplementedError,
    OverflowError,
)




#: What a non-workbook is, as a noun phrase (zh, en), by the detail of 'not-xlsx'.
_NOT_XLSX_WHAT: dict[str, tuple[str, str]] = {
    "docx": ("Word 文档", "a Word document"),
    "ods": ("OpenDocument 电子表格 (.ods)", "an OpenDocument spreadsheet (.ods)"),
    "xlsb": ("Excel 二进制工作簿 (.xlsb)", "an Excel binary workbook (.xlsb)"),
    "text": ("文本/网页/CSV 文件", "a text/HTML/CSV file"),
    "zip": ("普通压缩包", "a plain zip archive"),
    "ole": ("其他 Office 97-2003 文档（如 .doc）", "another Office 97-2003 document (e.g. .doc)"),
    "pdf": ("PDF 文件", "a PDF file"),
    "image": ("图片", "a picture"),
}

#: Formats Excel/WPS can open and re-save as .xlsx; for the others that advice is useless.
_RESAVABLE = ("ods", "xlsb", "text")

#: Extensions that promise a workbook: when the content is something else the message
#: names the mismatch, because "it is called .xlsx" is what the submitter believes.
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xltx", ".xltm", ".et", ".ett")


def _not_xlsx(path: str, what: str) -> LoadError:
    """'not-xlsx' saying what the file really is, and the extension it pretends to have.

    ``what`` is the sniffed kind ('text', 'docx', ... or 'unknown'); it becomes ``detail``.
    """
    if what in _RESAVABLE:
        advice = (
            "请在 Excel/WPS 中打开后另存为 .xlsx 再提交。",
            "open it in Excel/WPS, save it as .xlsx and submit again.",
        )
    else:
        advice = (
            "请提交用标准模板填写的 .xlsx 工作簿。",
            "submit the .xlsx workbook filled in from the standard template.",
        )
    suffix = os.path.splitext(path)[1].lower()
    noun = _NOT_XLSX_WHAT.get(what)
    if suffix in EXCEL_SUFFIXES:
        if noun is None:
            what_zh = f"扩展名是 {suffix}，但文件内容无法识别（可能已损坏，或只是改了扩展名）"
            what_en = f"the name ends in {suffix} but the content is not recognised (damaged, or just renamed?)"
        else:
            what_zh = f"扩展名是 {suffix}，但实际是{noun[0]}"
            what_en = f"the name ends in {suffix} but the file is {noun[1]}"
    elif noun is None:
        what_zh, what_en = "无法识别的文件格式", "the file format is not recognised"
    else:
        what_zh, what_en = f"这是{noun[0]}", f"this is {noun[1]}"
    return _error(path, "not-xlsx", what, what_zh=what_zh, what_en=what_en, advice_zh=advice[0], advice_en=advice[1])


def _human(n: float) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.0f} KB"


# --------------------------------------------------------------------------- XML

#: Deepest element nesting accepted in a part a tree-building reader parses (Package.vet_shape):
#: Excel's deepest (charts, drawings) is about 20.
MAX_XML_DEPTH = 64


class _XmlEntitiesError(Exception):
    """Raised from expat handlers when a DOCTYPE/entity shows up; mapped to LoadError."""


def _refuse_dtd(*_args: Any) -> Any:
    raise _XmlEntitiesError


class _RootReached(Exception):
    """Stops the prolog check at the root element."""


def _stop_at_root(*_args: Any) -> None:
    raise _RootReached


def _check_prolog(data: bytes, path: str, member: str) -> None:
    """Refuse a DOCTYPE in ``data``'s prolog (everything before the root element).

    Uses the same guarded expat (so any encoding expat understands is handled) and stops
    at the root's start tag, so it costs next to nothing; a DOCTYPE anywhere after that
    point is not well-formed and the real parser rejects it.
    """
    p = new_parser()
    p.StartElementHandler = _stop_at_root
    try:
        p.Parse(data, True)
    except _RootReached:
        return
    except _XmlEntitiesError:
        raise _error(path, "xml-entities", member) from None
    except expat.ExpatError as exc:
        detail = f"{member}: XML {expat.ErrorString(exc.code)} line {exc.lineno}"
        raise _error(path, "corrupt", detail) from None
    except LookupError as exc:  # expat looks an unknown encoding="…" up in codecs
        raise _error(path, "corrupt", f"{member}: XML {exc}") from None
    raise _error(path, "corrupt", f"{member}: no root element")


def new_parser() -> Any:
    """An expat parser that refuses any DOCTYPE, entity declaration or external entity.

    Namespace processing is on (separator ``' '``), so element names arrive as
    ``"<namespace-uri> <local>"`` whatever prefix the writer chose (Excel, WPS and the .NET
    SDK use different ones).  Text is buffered so each text node normally arrives in one
    callback.  Feed it with :meth:`Package.parse` so refusals become :class:`LoadError`.
    """
    p = expat.ParserCreate(namespace_separator=" ")
    p.buffer_text = True
    p.StartDoctypeDeclHandler = _refuse_dtd
    p.EntityDeclHandler = _refuse_dtd
    p.UnparsedEntityDeclHandler = _refuse_dtd
    p.ExternalEntityRefHandler = _refuse_dtd
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return p


# --------------------------------------------------------------------------- sniffing


_IMAGE_MAGICS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


def _classify_other(head: bytes) -> str:
    """A file that is neither zip nor OLE: 'pdf', 'image' (screenshots get submitted), 'text' or 'unknown'."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(_IMAGE_MAGICS):
        return "image"
    return "text" if _looks_like_text(head) else "unknown"


def _looks_like_text(head: bytes) -> bool:
    """Text (CSV, HTML, XML Spreadsheet 2003 ...): a BOM, or no binary control bytes."""
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    bad = sum(1 for b in head if b < 9 or 13 < b < 32)
    return bad == 0


def _classify_zip(zf: zipfile.ZipFile) -> tuple[str, str | None, bytes | None]:
    """Classify an opened zip by member names.

    Returns ('xlsx'|'xlsm', workbook part, content-types bytes) for workbooks, ('ods',
    content part, None) for OpenDocument spreadsheets, else ('xlsb'|'docx'|'zip', None, None).  Only tiny parts are inflated (the content
    types, ``mimetype``), and only after the caller vetted their declared sizes.
    """
    lower = {n.replace("\\", "/").lower(): n for n in zf.namelist()}
    if "[content_types].xml" in lower:
        workbook = lower.get("xl/workbook.xml") or _office_document(zf, lower)
        if workbook is not None:
            ct = _read_small(zf, lower["[content_types].xml"], 1 * MB)
            macros = any(n.endswith("vbaproject.bin") for n in lower) or (
                ct is not None and b"macroEnabled.main+xml" in ct
            )
            return ("xlsm" if macros else "xlsx"), workbook, ct
    if "xl/workbook.bin" in lower:
        return "xlsb", None, None
    if "word/document.xml" in lower:
        return "docx", None, None
    if "mimetype" in lower:
        mime = _read_small(zf, lower["mimetype"], 200)
        if mime is not None and b"opendocument.spreadsheet" in mime and "content.xml" in lower:
            return "ods", lower["content.xml"], None
    return "zip", None, None


def _bounded_read(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, never inflating more than its declared (vetted) size.

    ``zf.read()`` must not be used on untrusted input: it inflates the whole compressed
    stream in one call before cutting it to the declared size, so a member whose header
    understates its size could still expand to gigabytes.  ``read(n)`` caps each inflate
    call at ``n`` bytes and zipfile stops (and checks the CRC) at the declared size.
    """
    with zf.open(info) as stream:
        return stream.read(info.file_size)


def _read_small(zf: zipfile.ZipFile, name: str, max_size: int) -> bytes | None:
    """A member's bytes if it is small and readable, else None (classification only)."""
    info = zf.getinfo(name)
    if info.file_size > max_size or info.flag_bits & 1:
        return None
    try:
        return _bounded_read(zf, info)
    except (*_ZIP_OPEN_ERRORS, RuntimeError):
        return None


_WORKBOOK_CONTENT_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    MACRO_CONTENT_TYPE,
    MACRO_TEMPLATE_CONTENT_TYPE,
)


def _office_document(zf: zipfile.ZipFile, lower: dict[str, str]) -> str | None:
    """The main part named by ``_rels/.rels``, if the content types say it is a workbook.

    Only consulted when ``xl/workbook.xml`` is absent (unusual writers); a Word or
    PowerPoint package names its own main part here, hence the content-type check.
    """
    rels_name = lower.get("_rels/.rels")
    ct_name = lower.get("[content_types].xml")
    if rels_name is None or ct_name is None:
        return None
    rels_data = _read_small(zf, rels_name, 1 * MB)
    ct_data = _read_small(zf, ct_name, 1 * MB)
    if rels_data is None or ct_data is None:
        return None
    targets: list[str] = []
    overrides: dict[str, str] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag.endswith(" Relationship") and attrs.get("Type", "").endswith("/officeDocument"):
            targets.append(attrs.get("Target", ""))
        elif tag.endswith(" Override"):
            overrides[attrs.get("PartName", "").lstrip("/").lower()] = attrs.get("ContentType", "")

    try:
        for data in (rels_data, ct_data):
            p = new_parser()
            p.StartElementHandler = start
            p.Parse(data, True)
    except (_XmlEntitiesError, expat.ExpatError, LookupError):
        return None
    for target in targets:
        part = target.replace("\\", "/").lstrip("/").lower()
        if part in lower and overrides.get(part) in _WORKBOOK_CONTENT_TYPES:
            return lower[part]
    return None


# What olefile raises on malformed input (it does not wrap its errors in one class).
_OLE_ERRORS = (
    OSError,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    UnicodeError,
    RecursionError,
    struct.error,
)


def _classify_ole(f: IO[bytes]) -> str:
    """'encrypted' (encrypted OOXML), 'xls' (BIFF workbook) or 'ole' (anything else)."""
    import olefile  # only needed for the rare OLE submissions; keep startup light

    try:
        f.seek(0)
        ole = olefile.OleFileIO(f)
    except _OLE_ERRORS:
        return "ole"
    try:
        top = {entry[0].lower() for entry in ole.listdir(streams=True, storages=True)}
    except _OLE_ERRORS:
        return "ole"
    finally:
        ole.close()
    if "encryptioninfo" in top and "encryptedpackage" in top:
        return "encrypted"
    if "workbook" in top or "book" in top:
        return "xls"
    return "ole"


# sniff() only names the format, so it tolerates far more members than the loader.
_SNIFF_LIMITS = Limits(max_members=20_000)


def sniff(path: str | os.PathLike[str]) -> str:
    """The file's type judged by content, not by its extension.

    Returns one of 'xlsx', 'xlsm', 'xls', 'encrypted', 'docx', 'ods', 'zip', 'ole',
    'empty', 'text', 'pdf', 'image', 'unknown' (and 'xlsb' for a binary workbook, which is
    a zip without ``xl/workbook.xml``).  Paths that are not regular files raise :class:`LoadError`
    ('directory', 'not-a-file', 'symlink-loop', 'unreadable').
    """
    spath = os.fspath(path)
    f, size = _open_regular(spath)
    with f:
        if size == 0:
            return "empty"
        head = f.read(4096)
        if head.startswith(ZIP_MAGICS):
            try:
                # bound the central directory zipfile is about to materialise
                _check_central_directory(f, size, _SNIFF_LIMITS, spath)
            except LoadError:
                return "zip"
            try:
                with zipfile.ZipFile(f) as zf:
                    return _classify_zip(zf)[0]
            except _ZIP_OPEN_ERRORS:
                return "zip"
        if head.startswith(OLE_MAGIC):
            return _classify_ole(f)
        return _classify_other(head)


# --------------------------------------------------------------------------- opening


def _open_regular(path: str) -> tuple[IO[bytes], int]:
    """Open ``path`` for reading if (and only if) it is a regular file.

    O_NONBLOCK keeps a FIFO from hanging the whole batch; the type check is done with
    fstat on the opened descriptor, so the file cannot be swapped between check and use.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _path_error(path, exc) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise _error(path, "directory")
        if not stat.S_ISREG(st.st_mode):
            raise _error(
                path,
                "not-a-file",
                what_zh="这不是普通文件（可能是设备或管道）",
                what_en="this is not a regular file (a device or pipe?)",
            )
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return f, st.st_size


def _path_error(path: str, exc: OSError) -> LoadError:
    code = exc.errno
    if code == errno.ELOOP:
        return _error(path, "symlink-loop")
    if code == errno.EISDIR or (code in (errno.EACCES, errno.EPERM) and os.path.isdir(path)):
        return _error(path, "directory")
    if code in (errno.ENOENT, errno.ENOTDIR):
        if os.path.islink(path):
            return _error(
                path,
                "not-a-file",
                what_zh="符号链接指向的文件不存在",
                what_en="the symbolic link points to a missing file",
            )
        return _error(path, "not-a-file", what_zh="找不到该文件", what_en="no such file")
    return _error(path, "unreadable", exc.strerror or type(exc).__name__)


_EOCD = struct.Struct("<4sHHHHIIH")
_ZIP64_LOCATOR = struct.Struct("<4sIQI")
_ZIP64_EOCD = struct.Struct("<4sQHHIIQQQQ")


def _check_central_directory(f: IO[bytes], size: int, limits: Limits, path: str) -> None:
    """Refuse oversized central directories before zipfile materialises one ZipInfo per entry.

    Both the entry count and the directory's byte size are checked: zipfile walks the
    directory by size, so a forged small count alone would not protect us.
    """
    tail_len = min(size, _EOCD.size)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    pos = 0 if len(tail) == _EOCD.size and tail[:4] == b"PK\x05\x06" else -1
    if pos < 0:  # archive comment present: search the last 64 KiB
        tail_len = min(size, _EOCD.size + 65535)
        f.seek(size - tail_len)
        tail = f.read(tail_len)
        pos = tail.rfind(b"PK\x05\x06")
        if pos < 0 or len(tail) - pos < _EOCD.size:
            raise _error(path, "corrupt-zip", "no end-of-central-directory record")
    _, _, _, n_disk, n_total, cd_size, _, _ = _EOCD.unpack_from(tail, pos)
    if n_total == 0xFFFF or n_disk == 0xFFFF or cd_size == 0xFFFFFFFF:
        eocd_at = size - tail_len + pos
        if eocd_at >= _ZIP64_LOCATOR.size:
            f.seek(eocd_at - _ZIP64_LOCATOR.size)
            sig, _, z64_at, _ = _ZIP64_LOCATOR.unpack(f.read(_ZIP64_LOCATOR.size))
            if sig == b"PK\x06\x07" and z64_at + _ZIP64_EOCD.size <= size:
                f.seek(z64_at)
                rec = f.read(_ZIP64_EOCD.size)
                if rec[:4] == b"PK\x06\x06":
                    fields = _ZIP64_EOCD.unpack(rec)
                    n_disk, n_total, cd_size = fields[6], fields[7], fields[8]
    count = max(n_total, n_disk)
    if count > limits.max_members:
        raise _error(path, "too-many-members", f"{count} > {limits.max_members}")
    # An entry needs 46 bytes + name + extra + comment; 1 KiB each is far more than real.
    if cd_size > limits.max_members * 1024 + 65536:
        raise _error(path, "too-many-members", f"central directory of {_human(cd_size)}")


class Package:
    """An opened, vetted .xlsx/.xlsm zip: only read its parts through :meth:`read`/:meth:`parse`.

    Member names are matched case-insensitively and with ``\\`` treated as ``/`` because
    OPC part names are case-insensitive and some writers are sloppy about both.
    """

    __slots__ = (
        "_file",
        "_kept",
        "_lower",
        "_names",
        "elements_left",
        "kind",
        "limits",
        "path",
        "workbook_part",
        "zf",
    )

    def __init__(
        self,
        path: str,
        kind: str,
        workbook_part: str,
        limits: Limits,
        zf: zipfile.ZipFile,
        file: IO[bytes],
        kept: dict[str, bytes] | None = None,
    ) -> None:
        self.path = path
        #: 'xlsx' or 'xlsm' (macro-enabled content type or a vbaProject part).
        self.kind = kind
        #: Member name of the workbook part (normally ``xl/workbook.xml``).
        self.workbook_part = workbook_part
        self.limits = limits
        self.zf = zf
        self._file = file
        self._names: dict[str, zipfile.ZipInfo] = {i.filename: i for i in zf.infolist()}
        self._lower: dict[str, str] | None = None
        #: Members already inflated and checked at open (see _verify_members), by name.
        self._kept = kept or {}
        #: What is left of ``limits.max_elements`` for this workbook; see :meth:`charge`.
        self.elements_left = limits.max_elements

    def charge(self, elements: int, part: str, sheet: str | None = None) -> None:
        """Count ``elements`` XML elements of ``part`` against the workbook's budget.

        Readers call this as they go (per row, or when a streamed part ends / overruns)
        so a workbook that is huge without breaking any other limit still stops in about
        a second.  Over budget: 'too-many-cells' naming ``sheet``, else 'too-large'.
        """
        self.elements_left -= elements
        if self.elements_left < 0:
            limit = self.limits.max_elements
            detail = f"{part}: more than {limit} XML elements in the workbook"
            if sheet is None:
                raise _error(self.path, "too-large", detail)
            raise _error(
                self.path,
                "too-many-cells",
                detail,
                detail_zh=f"工作表「{sheet}」的 XML 元素（行和单元格，包括空白的）超过 {limit} 个",
                detail_en=f"sheet '{sheet}' has more than {limit} XML elements (rows and cells, blank ones included)",
            )

    # -- naming
    def names(self) -> list[str]:
        """Member names as stored."""
        return list(self._names)

    def find(self, name: str) -> str | None:
        """The stored member name for part ``name`` (no leading '/'), or None."""
        if name in self._names:
            return name
        lower = self._lower
        if lower is None:
            lower = self._lower = {n.replace("\\", "/").lower(): n for n in self._names}
        return lower.get(name.replace("\\", "/").lower())

    # -- reading
    def _info(self, name: str) -> zipfile.ZipInfo:
        member = self.find(name)
        if member is None:
            raise _error(self.path, "corrupt", f"missing part {name}")
        return self._names[member]

    def read(self, name: str) -> bytes:
        """The bytes of part ``name``; sizes were vetted at open, zipfile caps output at them."""
        info = self._info(name)
        kept = self._kept.get(info.filename)
        if kept is not None:
            return kept
        try:
            return _bounded_read(self.zf, info)
        except _ZIP_OPEN_ERRORS as exc:
            raise _error(self.path, "corrupt-zip", f"{info.filename}: {exc}") from None
        except RuntimeError as exc:  # zipfile: "File is encrypted, password required"
            raise _error(self.path, "encrypted", str(exc)) from None

    def size(self, name: str) -> int:
        """Declared uncompressed size of part ``name`` (vetted against the limits at open)."""
        return self._info(name).file_size

    def tree(self, name: str) -> ET.Element:
        """Part ``name`` as an ElementTree element (Clark ``{uri}local`` tags).

        Meant for normal-size parts: the tree is built entirely in C (ElementTree's
        expat-based XMLParser with its C TreeBuilder, no Python call per element), the
        fastest way to read them.  That parser cannot be given a DOCTYPE handler, so the
        prolog is first run through :func:`new_parser`'s guarded expat: a DOCTYPE can
        only appear before the root element, so refusing one there rules out entity
        declarations (hence expansion and external entities) for the whole document.
        """
        data = self.read(name)
        member = self._info(name).filename
        _check_prolog(data, self.path, member)
        parser = ET.XMLParser()
        try:
            parser.feed(data)
            return parser.close()
        except ET.ParseError as exc:
            line, col = exc.position
            detail = f"{member}: XML {expat.ErrorString(exc.code)} line {line} col {col}"
            raise _error(self.path, "corrupt", detail) from None

    def parse(self, name: str, parser: Any) -> None:
        """Feed part ``name`` through an expat ``parser`` from :func:`new_parser`.

        Small parts are inflated in one go (fastest); large ones stream in 1 MiB chunks so
        memory stays flat.  A DOCTYPE becomes 'xml-entities', malformed XML 'corrupt'; a
        LoadError raised by the caller's handlers (limits) propagates unchanged.
        """
        info = self._info(name)
        try:
            if info.file_size <= 4 * MB:
                parser.Parse(self.read(name), True)
            else:
                with self.zf.open(info) as stream:
                    while chunk := stream.read(MB):
                        parser.Parse(chunk, False)
                    parser.Parse(b"", True)
        except _XmlEntitiesError:
            raise _error(self.path, "xml-entities", info.filename) from None
        except expat.ExpatError as exc:
            detail = f"{info.filename}: XML {expat.ErrorString(exc.code)} line {exc.lineno}"
            raise _error(self.path, "corrupt", detail) from None
        except LookupError as exc:  # an unknown encoding="…"
            raise _error(self.path, "corrupt", f"{info.filename}: XML {exc}") from None
        except _ZIP_OPEN_ERRORS as exc:
            raise _error(self.path, "corrupt-zip", f"{info.filename}: {exc}") from None

    def vet_shape(self, max_depth: int = MAX_XML_DEPTH) -> None:
        """Check every XML part for what a tree-building reader cannot take: too many elements in
        all (``limits.max_elements``) or nesting deeper than ``max_depth``.

        Our own readers stream the parts they read and charge their elements as they go; openpyxl
        (``--annotate``, the add-in's tests) builds objects for *every* part, recursively, so a
        styles part of 700,000 ``<xf>`` (70 s, 2.7 GB) or 300 levels deep (RecursionError) must be
        refused before it sees the file. Costs one expat pass over the XML parts (~5 ms a report).
        """
        budget = [self.limits.max_elements]
        for name in self.names():
            if not name.lower().endswith((".xml", ".rels", ".vml")):
                continue
            parser = new_parser()
            depth = [0]

            def start(_tag: str, _attrs: Any, _depth: list[int] = depth, _name: str = name) -> None:
                _depth[0] += 1
                budget[0] -= 1
                if _depth[0] > max_depth:
                    raise _error(self.path, "corrupt", f"{_name}: XML nested deeper than {max_depth} levels")
                if budget[0] < 0:
                    raise _error(self.path, "too-large",
                                 f"{_name}: more than {self.limits.max_elements} XML elements in the workbook")

            def end(_tag: str, _depth: list[int] = depth) -> None:
                _depth[0] -= 1

            parser.StartElementHandler = start
            parser.EndElementHandler = end
            parser.buffer_text = False
            try:
                self.parse(name, parser)
            except LoadError as e:
                if e.kind == "corrupt" and "XML nested" not in e.detail and not name.lower().endswith(".xml"):
                    continue  # a VML drawing that is not well-formed XML: openpyxl does not parse it either
                raise

    # -- lifetime
    def close(self) -> None:
        try:
            self.zf.close()
        finally:
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_package(path: str | os.PathLike[str], limits: Limits | None = None) -> Package:
    """Open and vet a workbook; raise :class:`LoadError` for anything we should not read.

    Costs a couple of small reads beyond what ``zipfile.ZipFile`` does itself; the only
    part inflated is ``[Content_Types].xml`` (or, for non-workbooks, the tiny part that
    names their format).
    """
    limits = limits or DEFAULT_LIMITS
    spath = os.fspath(path)
    f, size = _open_regular(spath)
    try:
        if size == 0:
            raise _error(spath, "empty")
        if size > limits.max_file_bytes:
            raise _error(spath, "too-large", f"{_human(size)} > {_human(limits.max_file_bytes)}")
        head = f.read(8)
        if not head.startswith(ZIP_MAGICS):
            if head.startswith(OLE_MAGIC):
                kind = _classify_ole(f)
                if kind in ("xls", "encrypted"):
                    raise _error(spath, kind)
                raise _not_xlsx(spath, "ole")
            f.seek(0)
            raise _not_xlsx(spath, _classify_other(f.read(4096)))
        _check_central_directory(f, size, limits, spath)
        try:
            zf = zipfile.ZipFile(f)
        except _ZIP_OPEN_ERRORS as exc:
            raise _error(spath, "corrupt-zip", str(exc) or type(exc).__name__) from None
        try:
            _vet_members(zf, limits, spath)
            kind, workbook, _ = _classify_zip(zf)
            if workbook is None:
                raise _not_xlsx(spath, kind)
            kept = _verify_members(f, zf, size, spath)
        except BaseException:
            zf.close()
            raise
    except BaseException:
        f.close()
        raise
    return Package(spath, kind, workbook, limits, zf, f, kept)


def verify_package(path: str | os.PathLike[str], limits: Limits | None = None) -> None:
    """Vet any zip-based Office file (a Word document) as :func:`open_package` vets a workbook.

    For readers that hand the file to a library trusting its headers: python-docx inflates each
    part with ``ZipFile.read``, in one call, so a part whose header understates its size (CRC
    forged for the cut) would expand to gigabytes there. Here every member is checked from the
    central directory, then inflated once in bounded steps: exact declared size, CRC, and no
    DOCTYPE in any part (Word never writes one). Raises :class:`LoadError` with the workbook
    wording; the caller rewords it for its format.
    """
    limits = limits or DEFAULT_LIMITS
    spath = os.fspath(path)
    f, size = _open_regular(spath)
    try:
        _check_central_directory(f, size, limits, spath)
        try:
            zf = zipfile.ZipFile(f)
        except _ZIP_OPEN_ERRORS as exc:
            raise _error(spath, "corrupt-zip", str(exc) or type(exc).__name__) from None
        with zf:
            _vet_members(zf, limits, spath)
            _verify_members(f, zf, size, spath)
    finally:
        f.close()


def peek_member(path: str | os.PathLike[str], name: str, max_size: int = 64 * 1024,
                limits: Limits | None = None) -> bytes | None:
    """One small member of a zip file, or None (not a zip, no such member, too big, anything odd).

    For quick looks at many files (is this our own output?) without vetting and inflating every
    member as :func:`open_package` does; the same size checks keep it bounded, and the member's
    XML is for :func:`new_parser` (no DOCTYPE) only.
    """
    limits = limits or DEFAULT_LIMITS
    spath = os.fspath(path)
    try:
        f, size = _open_regular(spath)
    except LoadError:
        return None
    with f:
        try:
            if not 0 < size <= limits.max_file_bytes or not f.read(4).startswith(b"PK"):
                return None
            _check_central_directory(f, size, limits, spath)
            with zipfile.ZipFile(f) as zf:
                return _read_small(zf, name, max_size)
        except (LoadError, KeyError, *_ZIP_OPEN_ERRORS, RuntimeError):
            return None


def _vet_members(zf: zipfile.ZipFile, limits: Limits, path: str) -> None:
    """Declared sizes bound what zipfile will ever inflate, so vetting them is sufficient."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise _error(path, "too-many-members", f"{len(infos)} > {limits.max_members}")
    total = 0
    names = set()
    for info in infos:
        usize = info.file_size
        total += usize
        if usize > limits.ratio_min_bytes:
            ratio = usize / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise _error(
                    path,
                    "zip-bomb",
                    f"{info.filename} {_human(usize)}, {ratio:.0f}:1 > {limits.max_ratio:.0f}:1",
                )
        if info.flag_bits & 1:
            raise _error(path, "encrypted", f"zip member {info.filename} is encrypted")
        if info.compress_size > usize + usize // 64 + 4096:
            # Compression never expands data this much: the declared size is a lie,
            # the classic way to sneak a bomb past size checks.
            raise _error(
                path,
                "corrupt-zip",
                f"{info.filename}: declared size {usize} < compressed {info.compress_size}",
            )
        names.add(info.filename.replace("\\", "/").lower())
    if total > limits.max_total_bytes:
        raise _error(
            path,
            "zip-bomb",
            f"{_human(total)} uncompressed > {_human(limits.max_total_bytes)}",
        )
    if len(names) != len(infos):
        # Two parts with one name: different readers would see different content.
        raise _error(path, "corrupt-zip", "duplicate member names")


_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
#: Compressed bytes read per step and the most one inflate step may produce: memory
#: stays flat whatever a member claims or contains.
_RAW_STEP = 256 * 1024
_OUT_STEP = 1 * MB
#: A real part's prolog (XML declaration, perhaps a comment) is under 200 bytes.
_MAX_PROLOG = 64 * 1024


class _PrologWatch:
    """Feeds a part's first bytes to a guarded expat until the root element starts.

    Refuses a DOCTYPE, and a prolog of implausible length (a DOCTYPE hidden behind
    megabytes of comments would otherwise make expat buffer them all); anything that is
    not XML at all (pictures, printer settings, VML that is not well-formed) is simply
    not our business here and stops the watch.
    """

    __slots__ = ("active", "member", "path", "parser", "seen")

    def __init__(self, path: str, member: str) -> None:
        self.path = path
        self.member = member
        self.parser = new_parser()
        self.parser.StartElementHandler = _stop_at_root
        self.active = True
        self.seen = 0

    def feed(self, data: bytes) -> None:
        if not self.active or not data:
            return
        self.seen += len(data)
        try:
            self.parser.Parse(data, False)
        except _RootReached:
            self.active = False
            return
        except _XmlEntitiesError:
            raise _error(self.path, "xml-entities", self.member) from None
        except (expat.ExpatError, LookupError):  # LookupError: an unknown encoding="…"
            self.active = False  # not XML: whoever reads it will say so
            return
        if self.seen > _MAX_PROLOG:
            raise _error(self.path, "corrupt", f"{self.member}: XML prolog longer than {_MAX_PROLOG} bytes")


#: The verifying inflate keeps XML parts up to this size, and this much in all, so that
#: reading them afterwards (Package.read) costs nothing; the rest are inflated again when
#: read.  A real report's parts total ~150 KB.
_KEEP_PART_BYTES = 4 * MB
_KEEP_TOTAL_BYTES = 16 * MB


def _verify_members(f: IO[bytes], zf: zipfile.ZipFile, size: int, path: str) -> dict[str, bytes]:
    """Inflate every member once, never past its declared size, and check it fully.

    The central directory only *declares* sizes, and our reader opens just the parts it
    needs.  Other readers of the same file do not share our caution: openpyxl (for
    ``--annotate`` and the add-in) inflates a whole member in one call before cutting it
    to the declared size, so a picture or ``docProps/core.xml`` whose header understates
    its size - with a CRC forged for the cut - would be a zip bomb for it, and lxml would
    meet any DOCTYPE in a part we never parse.  So here, for every member: stored or
    deflate only (all Excel and WPS write), data that inflates to exactly the declared
    size (stopping one step past it), a complete deflate stream, the CRC, and no DOCTYPE
    in its prolog.  ``_vet_members`` already bounded the declared sizes, so this costs one
    bounded inflate of the package: a few milliseconds for a real report.  The XML parts
    it produced are returned by name (see ``_KEEP_PART_BYTES``) so they are not inflated
    twice.
    """
    kept: dict[str, bytes] = {}
    room = _KEEP_TOTAL_BYTES
    try:
        for info in zf.infolist():
            keep = info.file_size <= min(_KEEP_PART_BYTES, room) and info.filename.lower().endswith((".xml", ".rels"))
            data = _verify_member(f, info, size, path, keep)
            if data is not None:
                kept[info.filename] = data
                room -= len(data)
    except OSError as exc:  # the disk, not the file: say so
        raise _error(path, "unreadable", exc.strerror or type(exc).__name__) from None
    return kept


def _verify_member(f: IO[bytes], info: zipfile.ZipInfo, size: int, path: str, keep: bool) -> bytes | None:
    """One member: method, local header, data inside the file, then the checked inflate."""
    name = info.filename
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _error(path, "corrupt-zip", f"{name}: compression method {info.compress_type}, not deflate")
    if not 0 <= info.header_offset < size:  # zipfile does not check this
        raise _error(path, "corrupt-zip", f"{name}: local header offset {info.header_offset} outside the file")
    f.seek(info.header_offset)
    header = f.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise _error(path, "corrupt-zip", f"{name}: bad local header")
    name_len, extra_len = _LOCAL_HEADER.unpack(header)[9:]
    start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
    if start + info.compress_size > size:
        raise _error(path, "corrupt-zip", f"{name}: data runs past the end of the file")
    f.seek(start)
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise _error(path, "corrupt-zip", f"{name}: stored size {info.compress_size} != {info.file_size}")
    return _inflate_checked(f, info, path, keep)


def _inflate_checked(f: IO[bytes], info: zipfile.ZipInfo, path: str, keep: bool = False) -> bytes | None:
    """Stream one member's data from ``f`` (positioned at it) through the checks.

    With ``keep``, returns the data once it passed them all.
    """
    name = info.filename
    declared = info.file_size
    watch = _PrologWatch(path, name)
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    remaining = info.compress_size
    pending = b""
    produced = 0
    crc = 0
    chunks: list[bytes] = []
    try:
        while True:
            if not pending and remaining:
                pending = f.read(min(_RAW_STEP, remaining))
                if not pending:
                    raise _error(path, "corrupt-zip", f"{name}: data cut short")
                remaining -= len(pending)
            if inflater is None:
                out, pending = pending, b""
            else:
                out = inflater.decompress(pending, _OUT_STEP)
                pending = inflater.unconsumed_tail
            produced += len(out)
            if produced > declared:
                raise _error(
                    path,
                    "zip-bomb",
                    f"{name} inflates past its declared {_human(declared)}",
                )
            crc = zlib.crc32(out, crc)
            watch.feed(out)
            if keep:
                chunks.append(out)
            if inflater is not None and inflater.eof:
                break
            if not out and not pending and not remaining:
                break
    except zlib.error as exc:
        raise _error(path, "corrupt-zip", f"{name}: {exc}") from None
    if inflater is not None and not inflater.eof:
        raise _error(path, "corrupt-zip", f"{name}: compressed data ends early")
    if produced != declared:
        raise _error(path, "corrupt-zip", f"{name}: {produced} bytes, header says {declared}")
    if crc != info.CRC:
        raise _error(path, "corrupt-zip", f"{name}: CRC mismatch")
    return b"".join(chunks) if keep else None
