"""``gxsheet validate`` over many files checks them in batches and keeps slim records: same report."""

from __future__ import annotations

import json

from gxsheet.cli import validate as CV
from gxsheet.cli.app import main
from gxsheet.render.samples import write_sample


def test_batches_and_slim_records_give_the_same_report(tmp_path, monkeypatch, capsys):
    d = tmp_path / "inbox"
    d.mkdir()
    for i in range(5):
        values = {"t3.received.natural": "无"} if i == 2 else None
        write_sample(d / f"town{i}.xlsx", "2021" if i % 2 else "2019", seed=i, values=values,
                     meta={"unit_name": f"第{i}镇"})
    (d / "broken.xlsx").write_bytes(b"PK\x03\x04 not really")
    assert main(["validate", str(d), "--json"]) == 2
    whole = json.loads(capsys.readouterr().out)
    monkeypatch.setattr(CV, "BATCH", 2)
    assert main(["validate", str(d), "--json"]) == 2
    batched = json.loads(capsys.readouterr().out)
    assert batched == whole
    assert whole["summary"]["with_errors"] == 1 and whole["summary"]["unreadable"] == 1
