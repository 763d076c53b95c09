"""Re-vendor xlwings' VBA from the *installed* xlwings package into ``macros/``.

Why: the add-in's ``RunPython`` bridge is xlwings' own VBA module, and its DLL names, AppleScript
name and ``XLWINGS_VERSION`` constant must match the Python-side xlwings exactly. The VBA is kept
as text in the repository (so ``gxsheet.excel.xlam.build_xlam`` can build the add-in reproducibly and a
reviewer can diff it), and this script is the only way it changes: pin a new xlwings version in the
environment, run ``python macros/update_xlwings_bas.py``, commit the diff.

Two files are written:

* ``macros/xlwings.bas`` — the standalone xlwings module (``RunPython``, config lookup, ...).
* ``macros/Dictionary.cls`` — Tim Hall's ``Scripting.Dictionary`` replacement, which xlwings.bas
  needs on macOS (``Dim d As Dictionary`` under ``#If Mac``); without it Mac Excel fails to compile
  the module. On Windows it is unused.

xlwings ships ``xlwings.bas`` and ``addin/Dictionary.cls`` as text; if a future release only ships
them inside a binary workbook, they are extracted from it with oletools' olevba instead.
Line endings are normalised to LF here; the builder writes CRLF into the VBA project.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERSION_RE = re.compile(r'^Public Const XLWINGS_VERSION As String = "([^"]+)"', re.MULTILINE)
# Binary workbooks shipped by xlwings that embed the same modules, tried in this order.
BINARY_FALLBACKS = ("quickstart_standalone.xlsm", "quickstart_addin_ribbon.xlam", "addin/xlwings.xlam")


def _normalise(text: str) -> str:
    """LF line endings and exactly one trailing newline, so re-running gives an empty git diff."""
    return "\n".join(text.splitlines()).rstrip("\n") + "\n"


def _strip_class_header(text: str) -> str:
    """Drop the ``VERSION 1.0 CLASS / BEGIN ... END`` block VBE adds when exporting a class.

    The VBA project stores a class module's source from ``Attribute VB_Name`` on; keeping the
    exported header would put it into the module's code.
    """
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Attribute VB_Name"):
            return "\n".join(lines[index:])
    raise ValueError("class module has no 'Attribute VB_Name' line")


def _from_binary(package_dir: Path, module: str) -> str | None:
    """Extract one module's source from a workbook xlwings ships (olevba), or None."""
    from oletools.olevba import VBA_Parser

    for name in BINARY_FALLBACKS:
        path = package_dir / name
        if not path.is_file():
            continue
        parser = VBA_Parser(str(path))
        try:
            for _file, _stream, vba_filename, code in parser.extract_macros():
                if Path(vba_filename).stem == module:
                    return code if isinstance(code, str) else code.decode("latin-1")
        finally:
            parser.close()
    return None


def read_installed(module: str, text_paths: tuple[str, ...]) -> tuple[str, str]:
    """Return ``(source, where_it_came_from)`` for one xlwings VBA module."""
    import xlwings

    package_dir = Path(xlwings.__file__).resolve().parent
    for relative in text_paths:
        path = package_dir / relative
        if path.is_file():
            return path.read_text(encoding="latin-1"), str(path)
    code = _from_binary(package_dir, module)
    if code is None:
        raise FileNotFoundError(f"xlwings {xlwings.__version__}: VBA module {module!r} not found")
    return code, f"{package_dir} (extracted with olevba)"


def update(out_dir: Path = HERE) -> dict[str, Path]:
    """Write ``xlwings.bas`` and ``Dictionary.cls`` from the installed xlwings into ``out_dir``."""
    import xlwings

    bas, bas_from = read_installed("xlwings", ("xlwings.bas",))
    match = VERSION_RE.search(bas)
    if match is None or match.group(1) != xlwings.__version__:
        found = match.group(1) if match else None
        raise RuntimeError(
            f"{bas_from}: XLWINGS_VERSION is {found!r}, installed xlwings is {xlwings.__version__}"
        )
    cls, cls_from = read_installed("Dictionary", ("addin/Dictionary.cls", "Dictionary.cls"))

    written = {
        "xlwings.bas": out_dir / "xlwings.bas",
        "Dictionary.cls": out_dir / "Dictionary.cls",
    }
    written["xlwings.bas"].write_text(_normalise(bas), encoding="ascii", newline="\n")
    written["Dictionary.cls"].write_text(
        _normalise(_strip_class_header(cls)), encoding="ascii", newline="\n"
    )
    print(f"xlwings {xlwings.__version__}: {bas_from} -> {written['xlwings.bas']}")
    print(f"xlwings {xlwings.__version__}: {cls_from} -> {written['Dictionary.cls']}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=HERE, help="default: this folder")
    args = parser.parse_args(argv)
    update(args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
