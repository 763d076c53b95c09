"""The VBA guards that run before ``RunPython`` (macros/gxsheet_ribbon.bas), read back from the built add-in.

Excel is not available here, so VBA cannot run. What can be checked without it is checked:

* in the module *as stored in the built gxsheet.xlam* (olevba reads it back), every ribbon
  callback runs the guards before RunPython and stops when they find a problem, and the guards
  run in the documented order;
* every message a guard can show is Chinese — its text is built from Zh() code points, and the
  only plain string literals are file names and command lines — and says what to do;
* the guard reads the interpreter setting exactly as xlwings' RunPython does;
* the probe (the Python line the guard starts to check the interpreter) is taken out of the VBA
  and run with real interpreters: with gxsheet and xlwings, without gxsheet, without xlwings,
  with another xlwings version and with a broken one — each exit code has its own message.

What only real Excel can show (the message boxes themselves, Protected View, cell-edit mode,
the hidden scratch workbook for 新建模板) is listed in docs/addin.md.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from oletools.olevba import VBA_Parser

from gxsheet.excel import xlam

ROOT = Path(__file__).resolve().parents[2]
MACROS = ROOT / "macros"
CALLBACKS = {"GxValidate": ("校验", True), "GxExportText": ("导出文本", True), "GxNewTemplate": ("新建模板", False)}
GUARDS = ("EditModeProblem", "WorkbookProblem", "InterpreterProblem", "ProbeProblem")


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``{module: source}`` as stored in a freshly built add-in, read back by olevba."""
    built = xlam.build_xlam(tmp_path_factory.mktemp("guards") / "gxsheet.xlam", MACROS)
    parser = VBA_Parser(str(built))
    try:
        return {Path(name).stem: code.replace("\r\n", "\n") for _f, _s, name, code in parser.extract_macros()}
    finally:
        parser.close()


def _procedures(code: str) -> dict[str, str]:
    """``{name: body}`` of every Sub and Function in a module."""
    pattern = re.compile(r"^(?:Public |Private )?(Sub|Function) (\w+)\(.*?\)(?: As \w+)?\s*$(.*?)^End \1",
                         re.MULTILINE | re.DOTALL)
    return {m.group(2): m.group(3) for m in pattern.finditer(code)}


def _statements(body: str) -> list[str]:
    """Executable lines of a body: comments and blank lines dropped, continuations joined."""
    joined = re.sub(r" _\r?\n\s*", " ", body)
    lines = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("'"):
            lines.append(line)
    return lines


def _zh(codes: str) -> str:
    return "".join(chr(int(code, 16)) for code in codes.split(" "))


def _decoded(body: str) -> str:
    """The body with every Zh("…") call replaced by the text it builds."""
    return re.sub(r'Zh\("([0-9A-F ]+)"\)', lambda m: repr(_zh(m.group(1))), body)


@pytest.fixture(scope="module")
def ribbon(stored: dict[str, str]) -> dict[str, str]:
    return _procedures(stored["GxsheetRibbon"])


# ---------------------------------------------------------------------------------------------
# order: every guard before RunPython
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("callback", list(CALLBACKS))
def test_each_callback_runs_the_guards_before_runpython(ribbon: dict[str, str], callback: str) -> None:
    label, need_book = CALLBACKS[callback]
    steps = _statements(_decoded(ribbon[callback]))
    run = next(i for i, s in enumerate(steps) if s.startswith("RunPython "))
    ready = [i for i, s in enumerate(steps) if "ReadyFor(" in s]
    assert len(ready) == 1 and ready[0] < run
    assert steps[ready[0]] == f"If Not ReadyFor({label!r}, {need_book}) Then Exit Sub"
    # nothing that could reach Python or Excel comes before the guards
    assert all(s.startswith(("Dim ", "On Error GoTo")) for s in steps[: ready[0]])
    assert steps.index("On Error GoTo Failed") < ready[0]


def test_ready_for_runs_every_guard_in_order_and_stops_on_the_first_problem(ribbon: dict[str, str]) -> None:
    steps = _statements(ribbon["ReadyFor"])
    calls = [next(g for g in GUARDS if f"{g}(" in s) for s in steps if any(f"{g}(" in s for g in GUARDS)]
    assert calls == list(GUARDS)
    assert steps[calls.index("WorkbookProblem") + 1].startswith('If problem = "" And needBook Then')
    # later guards only run while no problem was found
    for guard in GUARDS[2:]:
        assert any(s == f'If problem = "" Then problem = {guard}()' for s in steps), guard
    show = steps.index('If problem <> "" Then')
    assert steps[show + 1].startswith("MsgBox problem, vbExclamation")
    assert steps[show + 2] == "Exit Function" and steps[-1] == "ReadyFor = True"
    title = re.search(r'MsgBox problem, vbExclamation, Zh\("([0-9A-F ]+)"\) & action', ribbon["ReadyFor"])
    assert title is not None and _zh(title.group(1)) == "政务公开年报 · "  # as gxsheet.excel.addin.show()


def test_new_template_gets_a_window_for_xlwings_and_always_closes_it(ribbon: dict[str, str]) -> None:
    steps = _statements(ribbon["GxNewTemplate"])
    run = next(i for i, s in enumerate(steps) if s.startswith("RunPython "))
    assert steps[run - 1] == "Set scratch = WindowForXlwings()" and steps[run + 1] == "CloseScratch scratch"
    failed = steps.index("Failed:")
    assert steps[failed + 1] == "CloseScratch scratch"  # also when RunPython raised
    window = _statements(ribbon["WindowForXlwings"])
    assert "If Workbooks.Count > 0 Then Exit Function" in window
    assert "If UsesUdfServer() Then Exit Function" in window  # BOOK_CALLER needs no window
    assert "scratch.Windows(1).Visible = False" in window and window[-1] == "Set WindowForXlwings = scratch"
    assert "scratch.Close SaveChanges:=False" in _statements(ribbon["CloseScratch"])
    assert all("WindowForXlwings" not in ribbon[c] for c in ("GxValidate", "GxExportText"))


# ---------------------------------------------------------------------------------------------
# the messages: Chinese, saying what to do
# ---------------------------------------------------------------------------------------------

#: the only plain (non-Zh) string literals the guards may use: command lines, file names, probes
_COMMAND_FRAGMENTS = {
    '""""', '""" -m pip install ""gxsheet[addin]"""', '""" -m pip install ""xlwings=="', '""" -c ""import xlwings, gxsheet.excel.addin"""',
    '""" -m pip install --force-reinstall ""gxsheet[addin]"""', '"xlwings64-"', '"xlwings32-"', '".dll"', '""',
    '"FileNewDefault"', '"Scripting.FileSystemObject"', '"WScript.Shell"', '"python"', '"pythonw"', '".exe"', '"\\"',
    '""" -B -c """', '"INTERPRETER_MAC"', '"INTERPRETER_WIN"', '"INTERPRETER"', '"USE UDF SERVER"', '"CONDA PATH"',
    '"pythonw.exe"', '"python.exe"', '" ("', '")"',
}


def _messages(body: str) -> list[str]:
    """Every text a guard assigns as its problem: the decoded Zh() parts of each assignment."""
    texts = []
    for statement in _statements(body):
        if re.match(r"^\w+Problem = ", statement) and "Zh(" in statement:
            texts.append("".join(_zh(c) for c in re.findall(r'Zh\("([0-9A-F ]+)"\)', statement)))
    return texts


def test_guard_messages_are_chinese_and_say_what_to_do(ribbon: dict[str, str]) -> None:
    hint = "".join(_zh(c) for c in re.findall(r'Zh\("([0-9A-F ]+)"\)', ribbon["ReinstallHint"]))
    assert "python -m gxsheet addin install" in hint and "install.cmd" in hint and "重新启动 Excel" in hint
    expected = {
        "EditModeProblem": ["正在编辑单元格，无法"],
        "WorkbookProblem": ["受保护的视图", "没有打开的工作簿"],
        "InterpreterProblem": ["没有记录 Python 的位置", "是一个文件夹", "找不到加载项记录的 Python", "不是可以运行的程序",
                               "后台 Python（Use UDF Server）需要 xlwings"],
        "ProbeProblem": ["无法启动 Python", "Microsoft Store", "没有安装 gxsheet", "没有安装 xlwings", "版本不对",
                         "安装不完整或已损坏"],
    }
    for guard, phrases in expected.items():
        texts = _messages(ribbon[guard])
        assert len(texts) == len(phrases), (guard, texts)
        for phrase, text in zip(phrases, texts, strict=True):
            assert phrase in text, (guard, text)
            assert re.search(r"[\u4e00-\u9fff]", text)
            assert re.search("请|按", text) or "ReinstallHint()" in ribbon[guard], (guard, text)  # what to do
        code = "\n".join(_statements(re.sub(r'Zh\("[0-9A-F ]+"\)', "", ribbon[guard])))
        literals = set(re.findall(r'"(?:[^"]|"")*"', code))
        assert literals <= _COMMAND_FRAGMENTS, (guard, literals - _COMMAND_FRAGMENTS)
    # the two wordings Python also uses stay the same on both sides
    workbook = _messages(ribbon["WorkbookProblem"])[1]
    assert workbook.startswith("没有打开的工作簿。") and workbook.endswith("的年报工作簿，并切换到它，再点“”。")


def test_the_interpreter_is_read_as_xlwings_reads_it(stored: dict[str, str], ribbon: dict[str, str]) -> None:
    run_python = _procedures(stored["xlwings"])["RunPython"]
    for key in ('GetConfig("INTERPRETER_MAC", "")', 'GetConfig("INTERPRETER_WIN", "")', 'GetConfig("INTERPRETER", "python")'):
        assert key in run_python and key in ribbon["Interpreter"], key
    assert 'GetConfig("USE UDF SERVER", False)' in run_python and 'GetConfig("USE UDF SERVER", False)' in ribbon["UsesUdfServer"]
    # the guard's DLL name is the one xlwings loads in UDF-server mode
    version = xlam.xlwings_version(MACROS)
    assert f'Const XLPyDLLName As String = "xlwings64-{version}.dll"' in stored["xlwings"]
    assert '"xlwings64-" & XLWINGS_VERSION & ".dll"' in ribbon["InterpreterProblem"]
    # the functions borrowed from xlwings' module exist there, public
    for name in ("GetConfig", "RunPython"):
        assert re.search(rf"^(Public )?Function {name}\(", stored["xlwings"], re.MULTILINE), name
    assert re.search(r'^Public Const XLWINGS_VERSION As String = "', stored["xlwings"], re.MULTILINE)


# ---------------------------------------------------------------------------------------------
# the probe, run with real interpreters
# ---------------------------------------------------------------------------------------------


def probe_code(ribbon: dict[str, str], stored: dict[str, str]) -> str:
    """ProbeCode() evaluated: its string concatenation with the module's constants filled in."""
    constants = dict(re.findall(r"^Private Const (\w+) As Long = (\d+)$", stored["GxsheetRibbon"], re.MULTILINE))
    constants["XLWINGS_VERSION"] = xlam.xlwings_version(MACROS)
    (statement,) = [s for s in _statements(ribbon["ProbeCode"]) if s.startswith("ProbeCode = ")]
    pieces = re.findall(r'"((?:[^"]|"")*)"|(\w+)', statement.removeprefix("ProbeCode = "))
    return "".join(text.replace('""', '"') if text else constants[name] for text, name in pieces)


def _run_probe(code: str, *python_flags: str, pythonpath: Path | None = None) -> int:
    env = {"PYTHONPATH": str(pythonpath)} if pythonpath else {}
    command = [sys.executable, *python_flags, "-B", "-c", code]
    return subprocess.run(command, env={**env, "PATH": "/usr/bin:/bin"}, cwd="/", capture_output=True,
                          timeout=120).returncode


def _package(folder: Path, name: str, source: str) -> Path:
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text(source, encoding="utf-8")
    return folder


def test_the_probe_tells_each_missing_piece_apart(ribbon: dict[str, str], stored: dict[str, str], tmp_path: Path) -> None:
    code = probe_code(ribbon, stored)
    assert '"' not in code  # it travels inside "…" on the command line
    cases = {name: int(value) for name, value in
             re.findall(r"^Private Const PROBE_(\w+) As Long = (\d+)$", stored["GxsheetRibbon"], re.MULTILINE)}
    assert cases == {"NO_GXSHEET": 3, "NO_XLWINGS": 4, "WRONG_XLWINGS": 5}

    # this environment: gxsheet and the pinned xlwings import
    assert _run_probe(code) == 0
    # -S: no site-packages, so neither gxsheet (installed editable) nor xlwings is there
    assert _run_probe(code, "-S") == cases["NO_GXSHEET"]
    # gxsheet importable, xlwings not
    assert _run_probe(code, "-S", pythonpath=ROOT) == cases["NO_XLWINGS"]
    # another xlwings version
    other = _package(tmp_path / "other", "xlwings", "__version__ = '0.30.0'\n")
    assert _run_probe(code, "-S", pythonpath=Path(f"{ROOT}:{other}")) == cases["WRONG_XLWINGS"]
    # an xlwings that cannot be imported (a DLL missing, a half-removed package): a broken install
    broken = _package(tmp_path / "broken", "xlwings", "raise ImportError('DLL load failed while importing win32api')\n")
    assert _run_probe(code, "-S", pythonpath=Path(f"{ROOT}:{broken}")) == 1
    # each exit code has its own message, and success remembers the interpreter for the session
    select = _statements(ribbon["ProbeProblem"])
    for case in ("Case 0", "Case 9009", "Case PROBE_NO_GXSHEET", "Case PROBE_NO_XLWINGS", "Case PROBE_WRONG_XLWINGS",
                 "Case Else"):
        assert case in select, case
    assert select[select.index("Case 0") + 1] == "probedInterpreter = path"
    assert "If path = probedInterpreter Then Exit Function" in select


def test_the_probe_is_started_hidden_and_waited_for(ribbon: dict[str, str]) -> None:
    run = next(s for s in _statements(ribbon["ProbeProblem"]) if ".Run(" in s)
    assert run == 'code = wsh.Run("""" & path & """ -B -c """ & ProbeCode() & """", 0, True)'
