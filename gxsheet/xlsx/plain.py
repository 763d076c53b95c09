"""Fast path for plain worksheet parts: cells read without building an element tree.

Building the tree was three quarters of the reading time, mostly for layout XML (column
widths, conditional formats, data validation) around a few hundred cells.  So a
normal-size worksheet part in the plain shape that Excel, WPS and openpyxl write is read
without a tree (``FAST_PATH``, :func:`_read_plain`): its single ``<sheetData>`` is cut
out and split into cell and row tokens by one regular expression, and the layout around
it is only checked (dimension, merged ranges, and well-formedness by the same guarded
expat, memoised on the bytes before and after ``<sheetData>``, which repeat in every file
made from one template).  It gives exactly the tree path's results and errors: the same
:class:`~gxsheet.xlsx.sheet._Sheet` calls in the same order, the same element count
charged, text decoded as expat decodes it, and every well-formedness rule expat applies to
the cut-out part checked to the letter.  Anything else falls back to the tree path
(:func:`gxsheet.xlsx.sheet._walk_tree`) for that part, before anything is recorded:
another encoding than UTF-8, a prefixed or foreign namespace on the sheet elements,
``<sheetData>``/``<dimension>``/``<mergeCells>`` not children of the root or in an
unusual form, rich-text or phonetic inline strings, ``extLst`` or other children in a
cell, whitespace or comments, CDATA or processing instructions between the cells,
single-quoted attributes or attribute values with references or whitespace to normalise,
an element budget that would run out in the sheet, and XML that is not well-formed (so
the tree path reports it, with expat's message).

:func:`gxsheet.xlsx.workbook._read_sheet` decides which way a part is read.
"""

from __future__ import annotations

import re
from xml.parsers import expat

from gxsheet.core.errors import LoadError
from gxsheet.xlsx.cells import _MAIN_NS, RawCell, _Memo, _pos
from gxsheet.xlsx.loader import Package, new_parser
from gxsheet.xlsx.sheet import (
    _MISSING,
    _merge_summary,
    _MergeSummary,
    _quick_value,
    _Sheet,
    number,
)

#: Read worksheet parts in the plain shape real writers produce without building an
#: element tree (see the module docstring and :func:`_read_plain`).  Tests turn it off to
#: compare every result with the tree path.
FAST_PATH = True


# The prolog and the root start tag: an optional BOM and XML declaration, then the root
# (any name; the tree path does not look at it) with its attributes.
_PROLOG_RE = re.compile(
    rb"(?:\xef\xbb\xbf)?(?:<\?xml([^<>?]*)\?>)?[ \t\r\n]*"
    rb"<([A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?)"
    rb"((?:[ \t\r\n]+[A-Za-z_][A-Za-z0-9._:-]*[ \t\r\n]*=[ \t\r\n]*(?:\"[^\"<]*\"|'[^'<]*'))*)[ \t\r\n]*>"
)
_ENCODING_RE = re.compile(rb"encoding[ \t\r\n]*=[ \t\r\n]*[\"']([^\"']*)[\"']")
_ROOT_ATTR_RE = re.compile(rb"([A-Za-z_][A-Za-z0-9._:-]*)[ \t\r\n]*=[ \t\r\n]*(?:\"([^\"<]*)\"|'([^'<]*)')")
_MAIN_NS_BYTES = (b"", *(ns.encode() for ns in _MAIN_NS))
#: An empty-element tag (``<x .../>``), attribute values containing '>' included.
_EMPTY_TAG_RE = re.compile(rb"<[^<>\"']*+(?:(?:\"[^\"]*+\"|'[^']*+')[^<>\"']*+)*+(?<=/)>")
_DIMENSION_RE = re.compile(rb'<dimension ref="([^"<>&\t\n\r]*)"/>')
_MERGES_RE = re.compile(rb'<mergeCells(?: count="[0-9]*")?>((?:<mergeCell ref="[^"<>&\t\n\r]*"/>)*+)</mergeCells>')
_MERGE_REF_RE = re.compile(rb'ref="([^"]*)"')
#: Bytes that are no XML character (C0 controls other than tab, LF, CR).
_NOT_XML_BYTES = bytes([*range(9), 11, 12, *range(14, 32)])

#: One token of a plain ``<sheetData>``: a cell with an optional ``<f>``, ``<v>`` and plain
#: inline string in schema order; a row start (or empty row); a row end.  ``re.split`` on
#: it returns the text between tokens too, so any other markup (rich text, ``<rPh>``,
#: ``extLst``, whitespace, comments, CDATA, other quoting) shows up as a non-empty gap.
_TOKEN_RE = re.compile(
    r"<c([^<>/]*+)(?:/>|>"
    r"(?:<f([^<>/]*+)(?:/>|>([^<]*+)</f>))?+"
    r"(?:<v/>|<v>([^<]*+)</v>)?+"
    r"(?:<is><t([^<>/]*+)>([^<]*+)</t></is>)?+"
    r"</c>)"
    r"|<row([^<>/]*+)(/?)>"
    r"|</row>"
)
_STRIDE = _TOKEN_RE.groups + 1  # re.split: the gap before a token, then its groups
#: A tag's attribute list in the plain shape: single spaces, double quotes, ASCII names,
#: and values that expat would report verbatim (no reference, no whitespace to normalise).
_PLAIN_ATTRS_RE = re.compile(r'(?: [A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?="[^"<&\t\n\r]*")*+')
_PLAIN_ATTR_RE = re.compile(r' ([^=]+)="([^"]*)"')
#: The usual ``<c>`` attribute list (r, s, t in that order, plain values), parsed at once.
_USUAL_CELL_ATTRS_RE = re.compile(r' r="([A-Z]{1,3}[0-9]{1,7})"(?: s="([0-9]{1,9})")?(?: t="([A-Za-z]{1,9})")?')

_ATTRS_MEMO = _Memo(20_000)  # raw attribute list -> (attrs, prefixes) or None
_CELL_MEMO = _Memo(20_000)  # raw <c> attribute list -> _cell_attrs(raw)
_ROW_MEMO = _Memo(20_000)  # raw <row> attribute list -> (r, prefixes)
_CHARS_MEMO = _Memo(2_000_000)  # raw character data with '&' or CR -> text as expat reports it
_NO_PREFIXES: frozenset[str] = frozenset()


def _balanced(region: bytes) -> bool:
    """Whether ``region``, a stretch of a well-formed document, closes every element it opens.

    Then an element that follows it is a sibling of one that precedes it.  Counting tags
    is exact because '<' only starts markup in well-formed XML; comments, CDATA and
    processing instructions (which may hide '<') are refused.
    """
    if b"<!" in region or b"<?" in region:
        return False
    return region.count(b"<") == 2 * region.count(b"</") + len(_EMPTY_TAG_RE.findall(region))


def _well_formed(doc: bytes) -> bool:
    """Whether the guarded expat (DOCTYPE refused, namespaces on) accepts ``doc``."""
    try:
        new_parser().Parse(doc, True)
    except Exception:  # noqa: BLE001 - malformed or refused: the tree path reports it
        return False
    return True


def _check_prefix(prefix: bytes) -> tuple[int, str | None, frozenset[str]] | None:
    """What comes before a worksheet's ``<sheetData>``: (where the root start tag ends,
    ``<dimension ref>``, namespace prefixes the root declares); None unless plain.

    Plain means: UTF-8; the root's default namespace the main one or none (the tree path
    accepts both); ``<sheetData>`` a child of the root; at most one ``<dimension>``, a
    child of the root in its simplest form; nothing else named like 'sheetData',
    'dimension' or 'mergeCell'.  Well-formed: the prefix closed by ``<sheetData/>`` and
    the root end tag passes the guarded expat.
    """
    m = _PROLOG_RE.match(prefix)
    if m is None or b"sheetData" in prefix or b"mergeCell" in prefix:
        return None
    decl, root, root_attrs = m.groups()
    if decl:
        enc = _ENCODING_RE.search(decl)
        if enc is not None and enc[1].lower() not in (b"utf-8", b"utf8"):
            return None
    declared = {"xml"}
    for name, dq, sq in _ROOT_ATTR_RE.findall(root_attrs):
        if name == b"xmlns":
            if (dq or sq) not in _MAIN_NS_BYTES:
                return None  # another default namespace: the tree path ignores the cells
        elif name.startswith(b"xmlns:"):
            declared.add(name[6:].decode("ascii"))
    if not _well_formed(prefix + b"<sheetData/></" + root + b">"):
        return None  # (if well-formed, the root end tag makes <sheetData> a child of the root)
    root_end = m.end()
    dimension = None
    n = prefix.count(b"dimension")
    if n:
        d = prefix.find(b"<dimension ", root_end)
        dm = _DIMENSION_RE.match(prefix, d) if n == 1 and d >= 0 else None
        if dm is None or not _balanced(prefix[root_end:d]):
            return None
        dimension = dm[1].decode("utf-8")
    return root_end, dimension, frozenset(declared)


def _check_suffix(head: bytes, suffix: bytes) -> tuple[tuple[str, ...], _MergeSummary | None] | None:
    """The merged ranges in what comes after a worksheet's ``</sheetData>``; None unless plain.

    ``head`` is the part up to the end of the root start tag.  Plain means: at most one
    ``<mergeCells>``, a child of the root in its simplest form, and nothing else named
    like 'sheetData', 'dimension' or 'mergeCell'.  Well-formed: ``head`` followed by the
    suffix passes the guarded expat.  With :func:`_check_prefix` that makes the whole
    part (``<sheetData>`` emptied) well-formed: both sides are element content of the
    same root start tag, and ``<sheetData/>`` keeps their character data apart.
    """
    if b"sheetData" in suffix or b"dimension" in suffix or not _well_formed(head + suffix):
        return None
    n = suffix.count(b"mergeCell")
    if not n:
        return (), None
    mc = suffix.find(b"<mergeCells")
    mm = _MERGES_RE.match(suffix, mc) if mc >= 0 else None
    if mm is None:
        return None
    merges = tuple(ref.decode("utf-8") for ref in _MERGE_REF_RE.findall(mm[1]))
    if n != 2 + len(merges) or not _balanced(suffix[:mc]):
        return None
    return merges, _merge_summary(merges)


#: Verdicts on the bytes around ``<sheetData>``, which repeat in every file made from one
#: template (Excel rewrites the part before it - selection, active cell - more often than
#: the larger part after it, so the two are kept apart).
_PREFIX_MEMO = _Memo(2 * 1024 * 1024)  # prefix -> _check_prefix(prefix)
_SUFFIX_MEMO = _Memo(8 * 1024 * 1024)  # (head, suffix) -> _check_suffix(head, suffix)


def _plain_layout(
    data: bytes,
) -> tuple[str, str | None, tuple[tuple[str, ...], _MergeSummary | None], frozenset[str]] | None:
    """Split a worksheet part at its ``<sheetData>``; None when it is not plain.

    Returns the ``<sheetData>`` content (decoded), the ``<dimension ref>``, the merged
    ranges (with their :func:`_merge_summary`) and the namespace prefixes the root declares.  The verdicts on the bytes
    before and after ``<sheetData>`` (:func:`_check_prefix`, :func:`_check_suffix`)
    depend on nothing else, so they are memoised on them: identical bytes, identical
    verdict.

    Well-formedness of the content is checked here and as it is read, to the letter of
    what expat checks: bytes that are XML characters in UTF-8 (no control characters,
    no U+FFFE/U+FFFF) and no ``]]>`` here; markup that :data:`_TOKEN_RE` and
    :func:`_plain_attrs` only accept in well-formed shapes, character references that
    name XML characters (:func:`_xml_chars`), row nesting and declared namespace
    prefixes in :func:`_read_plain_cells`.
    """
    a = data.find(b"<sheetData")
    if a < 0:
        return None
    if data.startswith(b"<sheetData>", a):
        b = data.find(b"</sheetData>", a)
        if b < 0:
            return None
        body, end = data[a + 11 : b], b + 12
    elif data.startswith(b"<sheetData/>", a):
        body, end = b"", a + 12
    else:
        return None
    prefix = data[:a]
    before = _PREFIX_MEMO.get(prefix, _MISSING)
    if before is _MISSING:
        before = _PREFIX_MEMO.put(prefix, _check_prefix(prefix), len(prefix) + 100)
    if before is None:
        return None
    root_end, dimension, declared = before
    key = (data[:root_end], data[end:])
    merges = _SUFFIX_MEMO.get(key, _MISSING)
    if merges is _MISSING:
        merges = _SUFFIX_MEMO.put(key, _check_suffix(*key), len(key[0]) + len(key[1]) + 100)
    if merges is None:
        return None
    text = ""
    if body:
        if len(body.translate(None, _NOT_XML_BYTES)) != len(body) or (b"]" in body and b"]]>" in body):
            return None
        if not body.isascii() and (b"\xef\xbf\xbe" in body or b"\xef\xbf\xbf" in body):
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return text, dimension, merges, declared


def _plain_attrs(raw: str) -> tuple[dict[str, str], frozenset[str]] | None:
    """A plain attribute list (see :data:`_PLAIN_ATTRS_RE`) and the prefixes it uses, else None.

    Refused as well (expat would refuse them, or they change namespaces): duplicate names,
    two prefixed names with the same local part, and namespace declarations.
    """
    found = _ATTRS_MEMO.get(raw, _MISSING)
    if found is not _MISSING:
        return found
    result = None
    if _PLAIN_ATTRS_RE.fullmatch(raw) is not None:
        pairs = _PLAIN_ATTR_RE.findall(raw)
        attrs = dict(pairs)
        prefixed = [name.partition(":") for name in attrs if ":" in name]
        if (
            len(attrs) == len(pairs)
            and not any(name.startswith("xmlns") for name in attrs)
            and len({local for _, _, local in prefixed}) == len(prefixed)
        ):
            prefixes = frozenset(prefix for prefix, _, _ in prefixed) if prefixed else _NO_PREFIXES
            result = attrs, prefixes
    return _ATTRS_MEMO.put(raw, result)


def _cell_attrs(
    raw: str,
) -> tuple[str | None, tuple[int, int] | None, str | None, str | None, int, frozenset[str], bool] | None:
    """A ``<c>`` attribute list as (r, its position or None if invalid, t, s, s as the
    style index RawCell gets, prefixes used, whether t means a number), memoised; None
    when not plain."""
    usual = _USUAL_CELL_ATTRS_RE.fullmatch(raw)
    if usual is not None:
        ref, style, t = usual.groups()
        prefixes = _NO_PREFIXES
    else:
        parsed = _plain_attrs(raw)
        if parsed is None:
            return None
        attrs, prefixes = parsed
        ref, style, t = attrs.get("r"), attrs.get("s"), attrs.get("t")
    pos = None
    if ref:
        try:
            pos = _pos(ref)
        except ValueError:
            pos = None  # the reader raises the tree path's error when it gets there
    try:
        index = int(style) if style else 0
    except ValueError:
        index = 0  # as _Sheet.cell
    return _CELL_MEMO.put(raw, (ref, pos, t, style, index, prefixes, t is None or t == "n"))


def _row_attrs(raw: str) -> tuple[str | None, frozenset[str]] | None:
    """A ``<row>`` attribute list as (r, prefixes used), memoised; None when not plain."""
    parsed = _plain_attrs(raw)
    return None if parsed is None else _ROW_MEMO.put(raw, (parsed[0].get("r"), parsed[1]))


def _xml_chars(raw: str) -> str | None:
    """Character data between two tags (with '&' or CR) as expat reports it; None if not
    well-formed.  Expat decodes it itself (line ends, entities, character references):
    markup cannot hide in ``raw``, so on its own in an element it reads exactly as in the part.
    """
    found = _CHARS_MEMO.get(raw)
    if found is not None:
        return found
    out: list[str] = []
    p = expat.ParserCreate()
    p.buffer_text = True
    p.CharacterDataHandler = out.append
    try:
        p.Parse(b"<t>" + raw.encode("utf-8") + b"</t>", True)
    except expat.ExpatError:
        return None
    return _CHARS_MEMO.put(raw, "".join(out), len(raw) + 64)


def _plain_tag(raw: str, declared: frozenset[str]) -> dict[str, str] | None:
    """A tag's attributes if their list ``raw`` is plain and uses only ``declared`` prefixes."""
    parsed = _plain_attrs(raw)
    return parsed[0] if parsed is not None and parsed[1] <= declared else None


def _plain_tokens_ok(parts: list[str | None], declared: frozenset[str]) -> bool:
    """Whether the tokens of a ``<sheetData>`` are well-formed (see :func:`_plain_layout`).

    :func:`_read_plain_cells` checks the same as it goes; this is for when a limit stopped
    it early, since a part that is not well-formed must be reported as such instead.
    """
    in_row = False
    it = iter(parts)
    next(it)
    for ca, fa, ft, vt, ta, tt, ra, rc, _ in zip(it, it, it, it, it, it, it, it, it, strict=True):
        if ca is not None:
            info = _cell_attrs(ca)
            if not in_row or info is None or not info[5] <= declared:
                return False
            if any(attrs and _plain_tag(attrs, declared) is None for attrs in (fa, ta)):
                return False
            if any(text and _xml_chars(text) is None for text in (ft, vt, tt)):
                return False
        elif ra is not None:
            if in_row or _plain_tag(ra, declared) is None:
                return False
            in_row = not rc
        elif not in_row:
            return False
        else:
            in_row = False
    return not in_row


def _read_plain_cells(text: str, parts: list[str | None], declared: frozenset[str], sheet: _Sheet) -> bool:
    """Feed the tokens of a plain ``<sheetData>`` to ``sheet`` exactly as :func:`_walk_tree`
    would; False (stop, fall back) at the first token that is not plain or not well-formed.
    """
    cell_attrs = _CELL_MEMO.get
    row_attrs = _ROW_MEMO.get
    chars = _CHARS_MEMO.get
    cells = sheet.cells
    sst, cap = sheet.sst, sheet.cap
    max_rows, max_cols, max_cells = sheet.max_rows, sheet.max_cols, sheet.max_cells
    row = col = 0
    in_row = False
    special = "\r" if "\r" in text else "&"  # what makes character data need decoding: '&', CR
    it = iter(parts)
    next(it)  # the (empty) gap before the first token
    for ca, fa, ft, vt, ta, tt, ra, rc, _ in zip(it, it, it, it, it, it, it, it, it, strict=True):
        if ca is not None:  # <c>
            info = cell_attrs(ca) or _cell_attrs(ca)
            if info is None or not in_row or (info[5] and not info[5] <= declared):
                return False
            ref, pos, t, style, index, _, numeric = info
            if ref:
                row, col = pos or sheet.pos(ref)  # raises for a bad reference
            else:  # after its left neighbour (row >= 1 inside a row)
                col += 1
                pos = (row, col)
            if row > max_rows or col > max_cols:
                sheet.check_pos((row, col))  # beyond the format: damage; else kept only if it holds something
            if vt and ("&" in vt or special in vt):
                vt = chars(vt) or _xml_chars(vt)
                if vt is None:
                    return False
            if ta is not None:
                if ta and _plain_tag(ta, declared) is None:
                    return False
                if "&" in tt or special in tt:
                    tt = chars(tt) or _xml_chars(tt)
                    if tt is None:
                        return False
            if fa is None:
                if ta is None:
                    if not vt:
                        continue  # formatted but empty
                    value = number(vt) if numeric else _quick_value(t, vt, None, sst, cap)
                elif vt is None:
                    value = _quick_value(t, None, tt, sst, cap)
                else:
                    value = _MISSING
                if value is None:
                    continue  # nothing to keep
                if value is not _MISSING and len(cells) < max_cells and row <= max_rows and col <= max_cols:
                    cells[pos] = RawCell(value, None, t or "", index)
                    continue
            fattrs = None
            if fa is not None:
                fattrs = _plain_tag(fa, declared) if fa else {}
                if fattrs is None:
                    return False
                if ft is None:
                    ft = ""
                elif "&" in ft or special in ft:
                    ft = chars(ft) or _xml_chars(ft)
                    if ft is None:
                        return False
            sheet.cell(pos, t or "", style, vt, tt if ta is not None else None, ft, fattrs)
        elif ra is not None:  # <row> or <row/>
            r = row_attrs(ra, _MISSING)
            if r is _MISSING:
                r = _row_attrs(ra)
            if in_row or r is None or not r[1] <= declared:
                return False
            row = sheet.row_number(r[0]) if r[0] else row + 1
            col = 0
            in_row = not rc
        elif in_row:  # </row>
            in_row = False
        else:
            return False
    return not in_row


def _read_plain(pkg: Package, part: str, sheet: _Sheet) -> bool:
    """Read a worksheet part in the plain shape without building a tree; False if it is not.

    Same results and errors as :func:`_walk_tree`: the same :class:`_Sheet` calls in the
    same order, the same element count charged.  When it returns False nothing has been
    charged and the caller starts again with a fresh ``_Sheet`` on the tree path.
    """
    data = pkg.read(part)
    plain = _plain_layout(data)
    if plain is None:
        return False
    text, dimension, merges, declared = plain
    parts: list[str | None] = _TOKEN_RE.split(text)
    if any(parts[::_STRIDE]):
        return False  # markup that is not plain: rich text, comments, whitespace ...
    elements = len(parts) // _STRIDE - text.count("</row>")  # rows and cells, as _walk_tree charges
    if elements > pkg.elements_left:
        return False  # the tree path reports where the budget runs out
    try:
        if dimension is not None:
            sheet.dimension(dimension)
        if not _read_plain_cells(text, parts, declared, sheet):
            return False
        sheet.merge_all(*merges)
    except LoadError:
        if not _plain_tokens_ok(parts, declared):
            return False  # not well-formed after all: the tree path reports that first
        raise
    pkg.charge(elements, part, sheet.name)
    return True
