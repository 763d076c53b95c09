"""The one output rule: text that came from a submission is written as text, in every output.

A town's 单位名称, a sheet's name, a cell's content, a paragraph of a published report: all of it
comes from files we do not control and ends up in files and terminals other people open. Each
kind of output has one function here, and every writer of that kind passes submission text
through it, so the rule holds in one place per kind instead of in each writer:

=============  ==========================  =================================================
output         function                    what it does to the text
=============  ==========================  =================================================
messages       :func:`shown`               every control, line break, tab, bidi and invisible
                                           format character escaped (``\\x0a``, ``\\u202e``);
                                           a message is one line and looks like what it says
terminal       :func:`terminal`            the same, for whole lines printed by the commands
workbook cell  :func:`cell`                XML-illegal and bidi/invisible characters escaped,
                                           tabs and line breaks kept, cut at 32,767 characters;
                                           writers store it as a *string* cell (never a
                                           formula: see :func:`formula_like`)
Word           :func:`docx`                as a cell (python-docx turns ``\\n``/``\\t`` into
                                           breaks and tabs; nothing becomes a field or link)
page header    :func:`page_header`         as a message, cut short, ``&`` doubled: in a
                                           printed page's header or footer ``&`` starts a
                                           code (``&P`` page, ``&"font"``, ``&9`` size)
plain text     :func:`txt`                 as a cell, without the length cut
JSON           :func:`json_dumps`          the data unchanged, but every such character
                                           written as a ``\\uXXXX`` escape, so the bytes carry
                                           no control sequence and a reader gets the same text
=============  ==========================  =================================================

Why escape rather than drop: a hidden U+202E or ESC in a submission is worth seeing, and an
escaped form cannot do anything in a terminal, a spreadsheet or a Word document.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "CONTROL",
    "INVISIBLE",
    "MAX_CELL_TEXT",
    "MAX_HEADER_TEXT",
    "cell",
    "docx",
    "escape_char",
    "formula_like",
    "json_dumps",
    "page_header",
    "shown",
    "strip_invisible",
    "terminal",
    "terminal_lines",
    "txt",
]

#: Characters that are never shown as themselves in an output: C0 controls (ESC starts terminal
#: escape sequences), DEL and C1 controls, lone surrogates and the XML non-characters.
CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
#: Invisible format characters: bidi marks, embeddings, overrides and isolates (they reorder what
#: is shown: "txt.exe" reads as "exe.txt"), zero-width spaces and joiners, the word joiner and
#: invisible operators, the soft hyphen, the Mongolian vowel separator and the BOM, and the
#: Unicode line/paragraph separators. Nothing in a report needs them, and each can make two
#: different texts look alike (or one text look like another).
INVISIBLE = "\u00ad\u061c\u180e\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
#: Characters a workbook cell holds: Excel calls a file with longer text damaged.
MAX_CELL_TEXT = 32_767

_MESSAGE_UNSAFE = re.compile(f"[\t\n\r{CONTROL}{INVISIBLE}]")
_DOCUMENT_UNSAFE = re.compile(f"[{CONTROL}{INVISIBLE}]")
_INVISIBLE = re.compile(f"[{INVISIBLE}]")
#: How a spreadsheet program recognises a formula when text is typed or pasted into a cell; also
#: what CSV-injection advice lists (a leading '=', '+', '-', '@', or a tab/CR before them).
_FORMULA_START = re.compile(r"^[\t\r\n ]*[=+\-@]")


def escape_char(m: re.Match[str]) -> str:
    """``\\x1b`` for a character below U+0100, ``\\u202e`` for others (how Python spells them)."""
    code = ord(m[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str) -> str:
    """Submission text inside a message: one line, every unsafe or invisible character escaped."""
    return _MESSAGE_UNSAFE.sub(escape_char, text)


#: characters of submission text in a page header: Excel refuses a header or footer longer than
#: 255 characters (XlsxWriter then drops it with a warning), and the header has fonts and codes too
MAX_HEADER_TEXT = 60


def page_header(text: str) -> str:
    """Submission text for a printed page's header or footer (Excel, WPS, LibreOffice alike).

    One line, escaped as :func:`shown`, cut at :data:`MAX_HEADER_TEXT` characters *before* ``&``
    is doubled (a cut between the two would leave a lone ``&`` starting a code).
    """
    text = shown(text)
    if len(text) > MAX_HEADER_TEXT:
        text = text[:MAX_HEADER_TEXT - 1] + "…"
    return text.replace("&", "&&")


def terminal(line: str) -> str:
    """A line for a terminal or a log: the same escaping as :func:`shown`.

    Applied to whole lines the commands print, so a newline in a file name or a 单位名称 cannot
    forge a second result line and an ESC cannot reach the terminal.
    """
    return _MESSAGE_UNSAFE.sub(escape_char, line)


def terminal_lines(text: str) -> str:
    """Several lines a command composed itself (its own ``\n`` kept), each through :func:`terminal`."""
    return "\n".join(terminal(line) for line in text.split("\n"))


def txt(text: str) -> str:
    """Text for a plain-text document: tabs and line breaks kept, other controls and invisibles escaped."""
    return _DOCUMENT_UNSAFE.sub(escape_char, text)


def docx(text: str) -> str:
    """Text for a Word run: as :func:`txt` (python-docx makes ``\\n`` a break and ``\\t`` a tab)."""
    return _DOCUMENT_UNSAFE.sub(escape_char, text)


def cell(text: str) -> str:
    """Text for a workbook cell: as :func:`txt`, cut at what a cell holds.

    The writer must still store it as a string cell; this function cannot stop a library from
    reading ``=…`` as a formula (openpyxl does, XlsxWriter does unless told not to).
    """
    if _DOCUMENT_UNSAFE.search(text) is not None:
        text = _DOCUMENT_UNSAFE.sub(escape_char, text)
    return text[:MAX_CELL_TEXT]


def formula_like(text: str) -> bool:
    """Whether a spreadsheet program would take ``text`` for a formula if it were typed in."""
    return _FORMULA_START.match(text) is not None


def strip_invisible(text: str) -> str:
    """``text`` without invisible format characters (before comparing labels and numbers)."""
    return _INVISIBLE.sub("", text)


_JSON_UNSAFE = re.compile(f"[{CONTROL}{INVISIBLE}]")


def _json_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m[0]):04x}"


def json_dumps(doc: Any, *, indent: int | None = 2) -> str:
    """``doc`` as JSON text with non-ASCII characters as such, except the unsafe and invisible ones.

    ``json.dumps(ensure_ascii=False)`` already escapes C0 controls but writes DEL, C1 controls,
    bidi overrides and U+2028 as raw characters (and a lone surrogate as one, which cannot even
    be encoded as UTF-8). Outside strings JSON text is ASCII, so escaping those characters
    wherever they occur keeps the document valid and its data unchanged.
    """
    text = json.dumps(doc, ensure_ascii=False, indent=indent, allow_nan=False)
    return _JSON_UNSAFE.sub(_json_escape, text)
