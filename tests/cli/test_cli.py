"""The command line as a clerk or a county script uses it: exit codes, one-line errors, JSON shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from openpyxl import load_workbook

from gxsheet.cli.app import main
from gxsheet.core.layout import RESULT_SHEET
from gxsheet.core.spec import schemas_dir
from gxsheet.render.samples import write_sample


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gxsheet", *args], capture_output=True, text=True, encoding="utf-8")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    ok = write_sample(d / "通过 的 镇.xlsx", "2021", seed=1)
    bad = write_sample(d / "bad.xlsx", "2021", seed=2, values={"t3.received.natural": "无", "t4.cases.review_total": 99})
    warn = write_sample(d / "warn.xlsx", "2021", seed=3, values={"t2_8.fees.amount": "300元"})
    (d / "empty.xlsx").write_bytes(b"")
    (d / "notes.docx").write_bytes(b"PK\x03\x04 not really")
    return {"dir": d, "ok": ok, "bad": bad, "warn": warn, "empty": d / "empty.xlsx"}


def test_exit_codes(files):
    assert main(["validate", str(files["ok"])]) == 0
    assert main(["validate", str(files["warn"])]) == 0  # warnings allowed
    assert main(["validate", str(files["bad"])]) == 1
    assert main(["validate", str(files["empty"])]) == 2
    assert main(["validate", str(files["ok"]), str(files["empty"])]) == 2


def test_misuse_is_exit_2():
    assert run("validate").returncode == 2
    assert run("nonsense").returncode == 2
    assert run().returncode == 2


def test_unreadable_file_is_one_line_naming_it(files):
    r = run("validate", str(files["empty"]))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "empty.xlsx" in lines[0]


def test_human_report_names_cells(files):
    r = run("validate", str(files["bad"]))
    assert r.returncode == 1
    assert "表三!D5" in r.stdout and "V-NUMBER" in r.stdout and "T4-GROUP-TOTAL" in r.stdout
    assert "“无”不是数字" in r.stdout
    r = run("validate", "--lang", "en", str(files["bad"]))
    assert "is not a number" in r.stdout


def test_json_report_matches_schema(files):
    r = run("validate", "--json", str(files["dir"]))
    assert r.returncode == 2  # the folder holds an unreadable file
    assert "\\u" not in r.stdout  # UTF-8, not escapes
    doc = json.loads(r.stdout)
    schema = json.loads((schemas_dir() / "findings.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)
    by_name = {Path(f["file"]).name: f for f in doc["files"]}
    assert by_name["bad.xlsx"]["status"] == "errors"
    assert by_name["通过 的 镇.xlsx"]["status"] == "ok"
    assert by_name["empty.xlsx"]["status"] == "unreadable"
    assert by_name["notes.docx"]["status"] == "skipped"  # in a folder and not a workbook: listed, not a failure
    f = next(f for f in by_name["bad.xlsx"]["findings"] if f["rule"] == "V-NUMBER")
    assert f["cells"] == ["表三!D5"] and f["sheet"] == "表三" and f["severity"] == "error"
    assert doc["summary"]["unreadable"] == 1 and doc["summary"]["skipped"] == 1


def test_annotate_folder_and_inputs_untouched(files, tmp_path):
    before = {p: p.read_bytes() for p in files["dir"].iterdir()}
    out = tmp_path / "marked"
    main(["validate", str(files["bad"]), str(files["ok"]), "--annotate", str(out)])
    assert {p: p.read_bytes() for p in files["dir"].iterdir()} == before
    wb = load_workbook(out / "bad.校验.xlsx")
    assert wb.sheetnames[0] == RESULT_SHEET
    assert wb["表三"]["D5"].fill.fgColor.rgb.endswith("FFC7CE")
    assert "V-NUMBER" in wb["表三"]["D5"].comment.text
    res = wb[RESULT_SHEET]
    links = [c.hyperlink.location if c.hyperlink.location else c.hyperlink.target for row in res.iter_rows() for c in row if c.hyperlink]
    assert any("表三" in (x or "") and "D5" in (x or "") for x in links)
    ok = load_workbook(out / "通过 的 镇.校验.xlsx")
    assert ok[RESULT_SHEET]["A1"].value.startswith("校验通过")
    # a second run refuses to overwrite without --force
    assert main(["validate", str(files["bad"]), "--annotate", str(out / "bad.校验.xlsx")]) == 2


def test_annotate_refuses_to_overwrite_input(files):
    before = files["bad"].read_bytes()
    assert main(["validate", str(files["bad"]), "--annotate", str(files["bad"]), "--force"]) == 2
    assert files["bad"].read_bytes() == before


def test_template_command(tmp_path):
    out = tmp_path / "t.xlsx"
    assert main(["template", "--edition", "2019", "-o", str(out)]) == 0
    assert load_workbook(out)["基本信息"]["B3"].value == "2019"
    assert main(["template", "--edition", "2019", "-o", str(out)]) == 2
    assert main(["template", "--edition", "2019", "-o", str(out), "--force"]) == 0
    assert run("template", "--edition", "2018", "-o", str(out)).returncode == 2
