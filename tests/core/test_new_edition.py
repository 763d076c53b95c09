"""A new edition of the official tables is a spec file, not a code change.

A made-up edition "2031" — a copy of 2021 with one row renamed and one grid added to 表二 — is put
in a folder named by ``$GXSHEET_SPECS``; then every stage runs on it through the command line, in a
fresh process, as a user would: template → fill → validate (clean, then with a planted error) →
export (txt, docx, json) → import the exported text back → merge two towns. Nothing in gxsheet knows
the edition; everything it does comes from the spec file.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gxsheet.core.spec import schemas_dir

RENAMED = "一、本年新收政府信息公开申请数量（含网上申请）"
CAPTION = "第二十条第（十）项"
NEW_ROW = "行政许可事项清单调整"


def made_up_spec() -> dict:
    spec = json.loads((schemas_dir() / "format-2021.json").read_text(encoding="utf-8"))
    spec = copy.deepcopy(spec)
    spec["edition"] = "2031"
    spec["issued_with"] = "假想〔2030〕1号"
    spec["years"] = {"first": 2031, "last": None}
    t3 = next(t for t in spec["tables"] if t["key"] == "t3")
    received = next(r for r in t3["grids"][0]["rows"] if r["key"] == "received")
    received["label"] = RENAMED
    t2 = next(t for t in spec["tables"] if t["key"] == "t2")
    t2["grids"].append({"key": "t2_10", "caption": CAPTION, "caption_en": "article 20 (10)", "corner": "信息内容",
                        "columns": [{"key": "count", "label": "本年处理数量", "type": "count"}],
                        "rows": [{"key": "permits", "label": NEW_ROW}]})
    return spec


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    specs = tmp_path_factory.mktemp("specs")
    (specs / "format-2031.json").write_text(json.dumps(made_up_spec(), ensure_ascii=False, indent=1), encoding="utf-8")
    return {**os.environ, "GXSHEET_SPECS": str(specs)}


def gx(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gxsheet", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def python(env: dict[str, str], code: str, cwd: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=cwd, check=True, timeout=300)


def fill(env: dict[str, str], out: Path, name: str, values: dict | None = None) -> None:
    """A filled workbook of the made-up edition, written in a process that sees ``$GXSHEET_SPECS``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    args = json.dumps({"out": str(out), "name": name, "values": values or {}}, ensure_ascii=False)
    python(env, "import json, sys; from gxsheet.render.samples import write_sample; a = json.loads(sys.argv[1]); "
                "write_sample(a['out'], '2031', seed=3, values=a['values'], "
                "meta={'unit_name': a['name'], 'level': '镇', 'parent': '某县'})", out.parent, args)


def test_a_made_up_edition_runs_through_every_stage(env: dict[str, str], tmp_path: Path) -> None:
    # template
    r = gx(env, "template", "--edition", "2031", "-o", "t.xlsx", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    wb = load_workbook(tmp_path / "t.xlsx")
    texts = {str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None}
    assert RENAMED in texts and CAPTION in texts and NEW_ROW in texts

    # fill and validate: clean
    fill(env, tmp_path / "甲镇.xlsx", "甲镇")
    r = gx(env, "validate", "甲镇.xlsx", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr

    # a planted error in the new grid is found at its cell, named by the spec's words
    fill(env, tmp_path / "bad" / "乙镇.xlsx", "乙镇", {"t2_10.permits.count": -2})
    r = gx(env, "validate", "bad/乙镇.xlsx", "--json", cwd=tmp_path)
    assert r.returncode == 1
    [f] = json.loads(r.stdout)["files"][0]["findings"]
    assert f["rule"] == "V-NEGATIVE" and f["keys"] == ["t2_10.permits.count"] and CAPTION in f["message_zh"]

    # export
    for kind in ("txt", "docx", "json"):
        r = gx(env, "export", "甲镇.xlsx", "--to", kind, "-o", f"甲镇.{kind}", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    txt = (tmp_path / "甲镇.txt").read_text(encoding="utf-8")
    label_lines = "".join(line.strip().split("  ")[0] for line in txt.splitlines())  # a long label wraps
    assert RENAMED in label_lines and CAPTION in txt
    doc = json.loads((tmp_path / "甲镇.json").read_text(encoding="utf-8"))
    assert doc["edition"] == "2031" and "t2_10.permits.count" in doc["values"]

    # the exported text imports back to the same values
    r = gx(env, "import", "甲镇.txt", "-o", "back.xlsx", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    r = gx(env, "export", "back.xlsx", "--to", "json", "-o", "back.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    back = json.loads((tmp_path / "back.json").read_text(encoding="utf-8"))
    assert {k: v["value"] for k, v in back["values"].items()} == {k: v["value"] for k, v in doc["values"].items()}

    # merge two towns
    inbox = tmp_path / "inbox"
    fill(env, inbox / "甲镇.xlsx", "甲镇")
    fill(env, inbox / "丙镇.xlsx", "丙镇")
    r = gx(env, "merge", "inbox", "-o", "county.xlsx", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    cells = {str(c.value) for ws in load_workbook(tmp_path / "county.xlsx") for row in ws.iter_rows() for c in row
             if c.value is not None}
    assert CAPTION in cells and {"甲镇", "丙镇"} <= cells


def test_without_the_spec_folder_the_edition_is_unknown(tmp_path: Path) -> None:
    r = gx({k: v for k, v in os.environ.items() if k != "GXSHEET_SPECS"}, "template", "--edition", "2031",
           "-o", "t.xlsx", cwd=tmp_path)
    assert r.returncode == 2 and not (tmp_path / "t.xlsx").exists()
