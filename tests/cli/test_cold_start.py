"""What a cold ``gxsheet validate`` imports and how it exits (cost is measured in benchmarks/, never here).

These run real child processes, as a clerk's or a script's ``gxsheet`` runs, so that what the
test process already imported cannot hide an import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gxsheet.render.samples import write_sample


def _child(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> Path:
    """A report, validated once here: the session's cache then knows the bundled specs and claims
    are valid whichever tests ran before (alone, this file used to see jsonschema imported)."""
    from gxsheet.check.validate import validate_record
    from gxsheet.read.registry import read_any

    path = write_sample(tmp_path_factory.mktemp("cold") / "town.xlsx", "2021", seed=3)
    validate_record(read_any(path))
    return path


def test_validating_one_file_imports_neither_openpyxl_nor_jsonschema_nor_hypothesis(town):
    """openpyxl is for writing workbooks, jsonschema for specs not yet known to be valid (the test
    session's cache already knows the bundled ones), hypothesis is pandera's data synthesis, the
    prose rules (claims) run in the reading worker and tomllib only reads a config file."""
    r = _child(
        "import sys, json\n"
        "from gxsheet.cli.app import main\n"
        "code = main(['validate', sys.argv[1], '--json'])\n"
        "mods = ('openpyxl', 'jsonschema', 'hypothesis', 'pandera', 'gxsheet.cli.merge', 'gxsheet.cli.export',\n"
        "        'gxsheet.check.claims', 'tomllib')\n"
        "print(json.dumps({'code': code, 'loaded': [m for m in mods if m in sys.modules]}), file=sys.stderr)\n",
        str(town))
    status = json.loads(r.stderr.strip().splitlines()[-1])
    assert status == {"code": 0, "loaded": ["pandera"]}, r.stderr
    assert json.loads(r.stdout)["summary"]["files"] == 1


def test_hypothesis_stays_importable_after_pandera_was_imported_without_it():
    r = _child("import gxsheet.check.tables, sys\n"
               "assert 'hypothesis' not in sys.modules\n"
               "import hypothesis.strategies as st\n"
               "print(st.integers().example() is not None)")
    assert r.returncode == 0 and r.stdout.strip() == "True", r.stderr


def test_the_console_script_exits_fast_with_the_commands_code_and_all_output(town, tmp_path):
    """``run`` leaves with os._exit: what was printed must be flushed and the exit code kept."""
    r = subprocess.run([sys.executable, "-m", "gxsheet", "validate", str(town), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and json.loads(r.stdout)["summary"]["ok"] == 1
    missing = subprocess.run([sys.executable, "-m", "gxsheet", "validate", str(tmp_path / "无.xlsx")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "无.xlsx" in missing.stderr


@pytest.mark.parametrize("argv, module", [
    (["validate", "x.xlsx"], "validate"), (["--debug", "import", "a.txt"], "import_"), (["merge", "-h"], "merge"),
    (["--lang", "en", "merge", "-h"], "merge"), (["--lang=en", "--debug", "export", "x"], "export"),
    (["--lang", "en"], None), (["--help"], None), (["valid", "x"], None), ([], None), (["--version"], None),
])
def test_only_the_command_asked_for_is_built(argv, module):
    from gxsheet.cli.app import _command_in

    assert _command_in(argv) == module


@pytest.mark.parametrize("argv", [["valdate", "x.xlsx"], ["--lang", "zh", "valdate"]])
def test_a_mistyped_command_still_lists_every_command(argv, capsys):
    from gxsheet.cli.app import COMMANDS, main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "没有“valdate”这个命令" in err
    assert all(c.rstrip("_") in err for c in COMMANDS)
