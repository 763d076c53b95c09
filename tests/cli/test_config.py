"""Limits set by users: ``--limit``, ``--config``, GXSHEET_CONFIG, ./gxsheet.toml, the user's file.

Each way of setting a limit is shown to change what is refused — a file one byte over the limit is
refused, the same file at the limit is read — and every mistake in a setting is one line and exit 2.
tests/conftest.py sets GXSHEET_CONFIG empty for the whole suite; the tests here set their own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gxsheet.cli.app import main
from gxsheet.core.config import ENV_VAR, ConfigError, find_config, load_settings, user_config_file
from gxsheet.core.limits import DEFAULT_LIMITS, LIMITS, MB, Limits
from gxsheet.excel import addin
from gxsheet.excel.addin import AddinError
from gxsheet.render.book_port import OpenpyxlBook
from gxsheet.render.samples import write_sample

ROOT = Path(__file__).resolve().parents[2]
SEED_TXT = ROOT / "examples" / "seeds" / "001_1e90647489face64.txt"


def mb(n_bytes: int) -> str:
    """``n_bytes`` as the MB value a user would type (exact: MB is a power of two)."""
    return repr(n_bytes / MB)


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    (tmp_path / "in").mkdir()
    return write_sample(tmp_path / "in" / "镇.xlsx", "2021", seed=1)


@pytest.fixture
def no_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No GXSHEET_CONFIG, an empty user config folder, and a fresh working folder: the discovery path."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("APPDATA", str(tmp_path / "appdata"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def toml(path: Path, **limits: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# 县政务公开办\n[limits]\n" + "".join(f"{k} = {v}\n" for k, v in limits.items()), encoding="utf-8")
    return path


def one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ----------------------------------------------------------------------------- each way changes what is refused
def test_limit_option_refuses_a_file_one_byte_over(workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    size = workbook.stat().st_size
    line = one_line_exit_2(capsys, ["validate", str(workbook), "--limit", f"max_file_mb={mb(size - 1)}"])
    assert "镇.xlsx" in line and "文件过大" in line
    assert main(["validate", str(workbook), "--limit", f"max_file_mb={mb(size)}"]) == 0


def test_config_option(workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    size = workbook.stat().st_size
    over = toml(tmp_path / "严.toml", max_file_mb=mb(size - 1))
    at = toml(tmp_path / "at.toml", max_file_mb=mb(size))
    assert "文件过大" in one_line_exit_2(capsys, ["validate", str(workbook), "--config", str(over)])
    assert main(["validate", str(workbook), "--config", str(at)]) == 0


def test_limit_option_wins_over_the_config_file(workbook: Path, tmp_path: Path) -> None:
    size = workbook.stat().st_size
    over = toml(tmp_path / "over.toml", max_file_mb=mb(size - 1))
    assert main(["validate", str(workbook), "--config", str(over), "--limit", f"max_file_mb={mb(size)}"]) == 0


def test_environment_variable_names_the_file(workbook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """export reads through the same limits (a count limit this time: the sheet's cells)."""
    out = tmp_path / "out.txt"
    monkeypatch.setenv(ENV_VAR, str(toml(tmp_path / "env.toml", max_cells=20)))
    line = one_line_exit_2(capsys, ["export", str(workbook), "--to", "txt", "-o", str(out)])
    assert "镇.xlsx" in line and not out.exists()
    monkeypatch.setenv(ENV_VAR, str(toml(tmp_path / "env.toml", max_cells=100_000)))
    assert main(["export", str(workbook), "--to", "txt", "-o", str(out)]) == 0 and out.exists()


def test_gxsheet_toml_in_the_current_folder(no_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """import of a published text report: max_text_mb bounds it."""
    src = tmp_path / "report.txt"
    shutil.copyfile(SEED_TXT, src)
    size = src.stat().st_size
    toml(no_config / "gxsheet.toml", max_text_mb=mb(size - 1))
    line = one_line_exit_2(capsys, ["import", str(src), "-o", str(tmp_path / "a.xlsx")])
    assert "report.txt" in line and "过大" in line
    toml(no_config / "gxsheet.toml", max_text_mb=mb(size))
    assert main(["import", str(src), "-o", str(tmp_path / "a.xlsx")]) in (0, 1)
    assert (tmp_path / "a.xlsx").exists()


def test_user_config_file_bounds_merge(no_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """merge reads in worker processes: the limits travel with them."""
    monkeypatch.setattr("gxsheet.read.batch.SERIAL_BELOW", 1)  # two workers even for three files
    towns = tmp_path / "towns"
    towns.mkdir()
    sizes = {write_sample(towns / f"镇{seed}.xlsx", "2021", seed=seed, meta={"unit_name": f"镇{seed}"}).name: 0 for seed in (1, 2, 3)}
    sizes = {name: (towns / name).stat().st_size for name in sizes}
    smallest = min(sizes.values())
    over = sorted(name for name, size in sizes.items() if size > smallest)
    assert over and len(over) < len(sizes)
    user = user_config_file()
    assert user == tmp_path / "xdg" / "gxsheet" / "gxsheet.toml"
    toml(user, max_file_mb=mb(smallest))
    assert main(["merge", str(towns), "-o", str(tmp_path / "县.xlsx"), "--jobs", "2", "--strict"]) == 1
    err = capsys.readouterr().err
    assert all(name in err for name in over) and all(name not in err for name in sizes if name not in over)
    toml(user, max_file_mb=mb(max(sizes.values())))
    assert main(["merge", str(towns), "-o", str(tmp_path / "县.xlsx"), "--force", "--strict", "--jobs", "2"]) == 0


def test_the_addin_reads_the_user_config_file(no_config: Path, workbook: Path) -> None:
    toml(user_config_file(), max_file_mb=0.001)  # 1 KB: every workbook is over it
    with pytest.raises(AddinError) as err:
        addin.validate_book(OpenpyxlBook(workbook))
    assert "镇.xlsx" in err.value.message_zh and "文件过大" in err.value.message_zh
    toml(user_config_file(), max_file_mb="nonsense")  # not TOML: a bare word
    with pytest.raises(AddinError) as err:
        addin.validate_book(OpenpyxlBook(workbook))
    assert "gxsheet.toml" in err.value.message_zh and "TOML" in err.value.message_zh


# ----------------------------------------------------------------------------- mistakes: one line, exit 2
@pytest.mark.parametrize("option,words", [
    ("max_file_size=50", ["没有名为“max_file_size”的限制项", "是不是 max_file_mb"]),
    ("max_rowz=10", ["是不是 max_rows"]),
    ("max_file_mb=abc", ["max_file_mb", "“abc”无效", "MB"]),
    ("max_file_mb=0", ["“0”无效"]),
    ("max_file_mb=-5", ["“-5”无效"]),
    ("max_rows=2.5", ["“2.5”无效", "正整数"]),
    ("max_ratio=inf", ["“inf”无效"]),
    ("max_rows=nan", ["“nan”无效"]),
    ("max_rows", ["格式应为 名称=值"]),
    ("=5", ["格式应为 名称=值"]),
])
def test_bad_limit_option(workbook: Path, capsys: pytest.CaptureFixture[str], option: str, words: list[str]) -> None:
    line = one_line_exit_2(capsys, ["validate", str(workbook), "--limit", option])
    assert line.startswith("--limit") and all(w in line for w in words), line


@pytest.mark.parametrize("text,words", [
    ("[limits]\nmax_file_mb = 50MB\n", ["第 2 行", "不是有效的 TOML"]),
    ("[limits]\nmax_rows = \"lots\"\n", ["[limits]", "max_rows", "“lots”无效"]),
    ("[limits]\nmax_rows = true\n", ["max_rows", "无效"]),
    ("[limits]\nmax_cels = 5\n", ["“max_cels”", "是不是 max_cells"]),
    ("[limit]\nmax_rows = 5\n", ["未知的配置项“limit”"]),
    ("max_rows = 5\n", ["未知的配置项“max_rows”"]),
    ("limits = 5\n", ["limits 应写成一个表"]),
    ("[limits]\nmax_text_len = 1e400\n", ["max_text_len", "无效"]),
])
def test_bad_config_file(workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                         words: list[str]) -> None:
    cfg = tmp_path / "gx.toml"
    cfg.write_text(text, encoding="utf-8")
    line = one_line_exit_2(capsys, ["validate", str(workbook), "--config", str(cfg)])
    assert str(cfg) in line and all(w in line for w in words), line


def test_missing_or_unreadable_config(workbook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert "找不到配置文件" in one_line_exit_2(capsys, ["validate", str(workbook), "--config", str(tmp_path / "无.toml")])
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "无.toml"))
    assert ENV_VAR in one_line_exit_2(capsys, ["validate", str(workbook)])
    monkeypatch.setenv(ENV_VAR, str(tmp_path))  # a folder
    assert "无法读取配置文件" in one_line_exit_2(capsys, ["validate", str(workbook)])
    (tmp_path / "gbk.toml").write_bytes("[limits]\n# 县\nmax_rows = 5\n".encode("gbk"))
    assert "UTF-8" in one_line_exit_2(capsys, ["validate", str(workbook), "--config", str(tmp_path / "gbk.toml")])
    (tmp_path / "big.toml").write_bytes(b"#" * (MB + 10))
    assert "过大" in one_line_exit_2(capsys, ["validate", str(workbook), "--config", str(tmp_path / "big.toml")])


def test_every_reading_command_takes_the_options(workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["validate", str(workbook)], ["import", str(workbook)], ["export", str(workbook), "--to", "txt"],
                 ["merge", str(workbook), "-o", str(workbook.with_name("x.xlsx"))], ["config"]):
        line = one_line_exit_2(capsys, [*argv, "--limit", "max_rowz=1"])
        assert "max_rows" in line, argv


def test_english_message(workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_exit_2(capsys, ["validate", str(workbook), "--lang", "en", "--limit", "max_rowz=1"])
    assert line == ("--limit: there is no limit called 'max_rowz'. Did you mean max_rows? Known: "
                    + ", ".join(LIMITS) + ".")


def test_one_line_as_a_separate_process(workbook: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "gxsheet", "validate", str(workbook), "--limit", "max_file_mb=x"],
                       capture_output=True, text=True, encoding="utf-8")
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- the loader itself
def test_units_and_sources(no_config: Path, tmp_path: Path) -> None:
    cfg = toml(tmp_path / "c.toml", max_file_mb=0.5, max_rows=20000, max_ratio=500, max_total_mb=1_000)
    s = load_settings(cfg, ["max_rows=30_000", "max_cells=1,000,000"])
    assert s.limits == Limits(max_file_bytes=MB // 2, max_rows=30_000, max_ratio=500.0, max_total_bytes=1000 * MB,
                              max_cells=1_000_000)
    assert s.file == cfg and s.found_by == "--config"
    assert dict(s.sources) == {"max_file_mb": "file", "max_rows": "--limit", "max_ratio": "file",
                               "max_total_mb": "file", "max_cells": "--limit"}
    assert load_settings() .limits == DEFAULT_LIMITS and load_settings().file is None


def test_which_file_is_read(no_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = toml(user_config_file(), max_rows=1)
    assert find_config() == (user, "user")
    here = toml(no_config / "gxsheet.toml", max_rows=2)
    assert find_config() == (here, "cwd")
    env = toml(tmp_path / "env.toml", max_rows=3)
    monkeypatch.setenv(ENV_VAR, str(env))
    assert find_config() == (env, ENV_VAR)
    explicit = toml(tmp_path / "explicit.toml", max_rows=4)
    assert find_config(explicit) == (explicit, "--config")
    assert load_settings(explicit).limits.max_rows == 4  # only one file is read: the first found
    monkeypatch.setenv(ENV_VAR, "")
    assert find_config() == (None, None)  # empty: no file at all, not even ./gxsheet.toml


def test_windows_user_file() -> None:
    import os

    if os.name == "nt":
        assert user_config_file({"APPDATA": "C:/Users/a/AppData/Roaming"}) == Path("C:/Users/a/AppData/Roaming/gxsheet/gxsheet.toml")
    else:
        assert user_config_file({"XDG_CONFIG_HOME": "/cfg"}) == Path("/cfg/gxsheet/gxsheet.toml")


def test_a_bom_is_fine(tmp_path: Path) -> None:
    cfg = tmp_path / "bom.toml"
    cfg.write_bytes("\ufeff[limits]\nmax_rows = 7\n".encode())
    assert load_settings(cfg).limits.max_rows == 7


def test_config_error_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_settings(None, ["nonsense"])


def test_config_command_shows_values_and_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = toml(tmp_path / "c.toml", max_file_mb=50)
    assert main(["config", "--config", str(cfg), "--limit", "max_rows=20000"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"配置文件：{cfg}（--config 指定）"
    rows = {line.split()[0]: line.split() for line in out[2:]}
    assert set(rows) == set(LIMITS)
    assert rows["max_file_mb"][1:] == ["50", "20", "MB", "配置文件"]
    assert rows["max_rows"][1:] == ["20000", "5000", "个", "--limit"]
    assert rows["max_cells"][1:] == ["100000", "100000", "个", "默认"]


def test_validate_help_says_how(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--limit 名称=值" in text and "--config" in text and ENV_VAR in text and "gxsheet.toml" in text
    for name, info in LIMITS.items():
        assert name in text and info.zh in text


def test_safety_doc_lists_every_limit_with_its_default() -> None:
    doc = (ROOT / "docs" / "safety.md").read_text(encoding="utf-8")
    for name, info in LIMITS.items():
        assert f"| `{name}` | {info.shown(getattr(DEFAULT_LIMITS, info.field))} " in doc, name
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "--limit" in readme and "gxsheet.toml" in readme


def test_json_output_unchanged_by_an_unused_config(workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", str(workbook), "--json"])
    plain = json.loads(capsys.readouterr().out)
    main(["validate", str(workbook), "--json", "--config", str(toml(tmp_path / "c.toml", max_rows=6000))])
    assert json.loads(capsys.readouterr().out) == plain
