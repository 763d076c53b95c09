"""Settings users give gxsheet — a TOML config file and ``--limit NAME=VALUE`` — turned into :class:`Limits`.

One loader for every face: the command line (validate, import, export, merge, config), the Excel
add-in and a future web page all call :func:`load_settings`, so a county office sets its limits once.

Which file is read (the first that applies; only one file is ever read):

1. ``--config FILE`` (a missing file is an error);
2. the file named by the environment variable ``GXSHEET_CONFIG`` (likewise; set it empty to read
   no file at all — the test suite does, so a developer's own config cannot change its results);
3. ``gxsheet.toml`` in the current folder;
4. the user's file: ``%APPDATA%\\gxsheet\\gxsheet.toml`` on Windows, else
   ``$XDG_CONFIG_HOME/gxsheet/gxsheet.toml`` (``~/.config/gxsheet/gxsheet.toml``) — where the
   add-in, started by Excel in no particular folder, finds it.

``--limit`` overrides the file. The file looks like::

    [limits]
    max_file_mb = 50      # sizes in MB
    max_rows = 20000      # counts are whole numbers

A mistake — an unknown name, a bad value, broken TOML, a missing file — is a :class:`ConfigError`
with one line naming where it is; the faces show it (the command line exits 2). Nothing is
silently ignored: a misspelt limit that did nothing would be worse than an error.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gxsheet.core.errors import one_line
from gxsheet.core.limits import BYTES, COUNT, LIMITS, MB, SECONDS, LimitInfo, Limits

__all__ = ["ENV_VAR", "FILE_NAME", "ConfigError", "Settings", "find_config", "load_settings", "user_config_file"]

ENV_VAR = "GXSHEET_CONFIG"
FILE_NAME = "gxsheet.toml"
#: the tables a config file may hold (a future ``[serve]`` adds its name here)
SECTIONS = ("limits",)
#: a config file is a few lines; anything this big is a wrong file, not a config
MAX_CONFIG_BYTES = 1 * MB


class ConfigError(Exception):
    """A setting that cannot be used: one line in Chinese and English saying where and why."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.message_zh = one_line(message_zh)
        self.message_en = one_line(message_en)

    def __str__(self) -> str:
        return self.message_zh


@dataclass(frozen=True)
class Settings:
    """The limits in force and where each came from (for ``gxsheet config`` and messages)."""

    limits: Limits = field(default_factory=Limits)
    #: the config file read, if any
    file: Path | None = None
    #: how the file was found: "--config", ENV_VAR, "cwd" or "user"
    found_by: str | None = None
    #: limit name → "file" or "--limit", for every limit not at its default source
    sources: Mapping[str, str] = field(default_factory=dict)


# ----------------------------------------------------------------------------- finding the file
def user_config_file(env: Mapping[str, str] | None = None) -> Path:
    """The per-user config file (it need not exist)."""
    env = os.environ if env is None else env
    if os.name == "nt" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / "gxsheet" / FILE_NAME
    base = env.get("XDG_CONFIG_HOME")
    if not base:
        try:
            base = str(Path.home() / ".config")
        except RuntimeError:  # no home directory (a service account): there is no user file
            base = os.path.join("~", ".config")
    return Path(base) / "gxsheet" / FILE_NAME


def find_config(explicit: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None,
                cwd: str | os.PathLike[str] | None = None) -> tuple[Path | None, str | None]:
    """(the config file to read, how it was found) — or (None, None) when there is none."""
    env = os.environ if env is None else env
    if explicit is not None:
        return _must_exist(Path(explicit), "--config"), "--config"
    if ENV_VAR in env:
        named = env[ENV_VAR]
        return (_must_exist(Path(named), ENV_VAR), ENV_VAR) if named else (None, None)
    here = Path(os.getcwd() if cwd is None else cwd) / FILE_NAME
    if here.is_file():
        return here, "cwd"
    user = user_config_file(env)
    if user.is_file():
        return user, "user"
    return None, None


def _must_exist(path: Path, how: str) -> Path:
    if not path.exists():
        raise ConfigError(f"{path}：找不到配置文件（由 {how} 指定）。",
                          f"{path}: no such config file (named by {how}).")
    return path


# ----------------------------------------------------------------------------- reading the file
def read_config(path: Path) -> dict[str, Any]:
    """The TOML document at ``path``, every failure a one-line ConfigError."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise ConfigError(f"{path}：无法读取配置文件（{reason}）。", f"{path}: cannot read the config file ({reason}).") from e
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}：配置文件过大（超过 1 MB），请检查是否选错了文件。",
                          f"{path}: the config file is larger than 1 MB; is it the right file?")
    try:
        text = data.decode("utf-8-sig")  # Windows Notepad may put a BOM in front
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}：配置文件须为 UTF-8 编码，请用记事本“另存为”时选择 UTF-8。",
                          f"{path}: the config file must be UTF-8 encoded.") from e
    import tomllib  # here, not above: most runs have no config file (~4 ms of a cold start)

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        where = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e)) or "syntax error"
        at_zh = f" 第 {where[1]} 行第 {where[2]} 列" if where else ""
        at_en = f" line {where[1]}, column {where[2]}" if where else ""
        raise ConfigError(f"{path}{at_zh}：不是有效的 TOML（{reason}）。格式示例：[limits] 下一行写 max_file_mb = 50。",
                          f"{path}{at_en}: not valid TOML ({reason}). Example: max_file_mb = 50 on a line under [limits].") from e


# ----------------------------------------------------------------------------- one limit
def _unknown(name: str, where: str) -> ConfigError:
    import difflib

    close = difflib.get_close_matches(name, LIMITS, n=1)
    hint_zh = f"是不是 {close[0]}？" if close else ""
    hint_en = f" Did you mean {close[0]}?" if close else ""
    names = "、".join(LIMITS)
    return ConfigError(f"{where}：没有名为“{name}”的限制项。{hint_zh}可用的有：{names}。",
                       f"{where}: there is no limit called '{name}'.{hint_en} Known: {', '.join(LIMITS)}.")


def _expected(info: LimitInfo) -> tuple[str, str]:
    if info.kind == BYTES:
        return "大于 0 的数，单位 MB（例如 50 或 0.5）", "a number above 0, in MB (e.g. 50 or 0.5)"
    if info.kind == COUNT:
        return "正整数（例如 20000）", "a whole number above 0 (e.g. 20000)"
    if info.kind == SECONDS:
        return "大于 0 的秒数（例如 30）", "a number of seconds above 0 (e.g. 30)"
    return "大于 0 的数（例如 500）", "a number above 0 (e.g. 500)"


_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


def parse_limit(name: str, value: object, where: str) -> tuple[str, int | float]:
    """(Limits field, value) for a limit set by a user: ``value`` is text (--limit) or a TOML number."""
    info = LIMITS.get(name)
    if info is None:
        raise _unknown(name, where)
    number: float | None = None
    if isinstance(value, str):
        text = value.strip().replace("_", "").replace(",", "")
        if _NUMBER.fullmatch(text):
            number = float(text)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    ok = number is not None and math.isfinite(number) and number > 0
    if ok and info.kind == COUNT:
        ok = number.is_integer()  # type: ignore[union-attr]
    if not ok:
        zh, en = _expected(info)
        shown = value if isinstance(value, str) else repr(value)
        raise ConfigError(f"{where}：限制项 {name} 的值“{shown}”无效，应为{zh}。",
                          f"{where}: '{shown}' is not a valid value for {name}; expected {en}.")
    assert number is not None
    if info.kind == BYTES:
        return info.field, max(1, round(number * MB))
    if info.kind == COUNT:
        return info.field, int(number)
    return info.field, number


def _from_file(doc: Mapping[str, Any], path: Path) -> dict[str, int | float]:
    for key in doc:
        if key not in SECTIONS:
            raise ConfigError(f"{path}：未知的配置项“{key}”，可用的只有 [limits] 表。",
                              f"{path}: unknown setting '{key}'; only the [limits] table is known.")
    table = doc.get("limits", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}：limits 应写成一个表：[limits] 下每行一个 名称 = 值。",
                          f"{path}: limits must be a table: [limits], then one name = value per line.")
    return dict(parse_limit(name, value, f"{path} [limits]") for name, value in table.items())


def _from_options(options: Iterable[str]) -> dict[str, int | float]:
    out: dict[str, int | float] = {}
    for option in options:
        name, eq, value = option.partition("=")
        if not eq or not name.strip():
            raise ConfigError(f"--limit {option}：格式应为 名称=值，例如 --limit max_file_mb=50。",
                              f"--limit {option}: expected NAME=VALUE, e.g. --limit max_file_mb=50.")
        key, v = parse_limit(name.strip(), value, "--limit")
        out[key] = v
    return out


# ----------------------------------------------------------------------------- all together
def load_settings(config: str | os.PathLike[str] | None = None, limits: Iterable[str] = (), *,
                  env: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None) -> Settings:
    """The settings in force: defaults, then the config file (see the module docstring), then ``limits``.

    ``config`` is ``--config FILE``; ``limits`` the ``--limit NAME=VALUE`` options. The options are
    checked before the file is read, so a typo on the command line is reported first.
    """
    from_options = _from_options(limits)
    path, found_by = find_config(config, env=env, cwd=cwd)
    from_file = _from_file(read_config(path), path) if path is not None else {}
    by_field = {i.field: i.name for i in LIMITS.values()}
    sources = {by_field[k]: "file" for k in from_file} | {by_field[k]: "--limit" for k in from_options}
    return Settings(replace(Limits(), **(from_file | from_options)), path, found_by, sources)
