"""``gxsheet addin bundle``: the offline install bundle for a Windows PC without internet access.

The Windows bundle is built once per session from PyPI (``network`` marker: CI reaches PyPI
anyway) and then checked without the network:

* pip resolves ``gxsheet[addin]`` from the wheelhouse alone for win_amd64 / CPython 3.11 — the
  command from the issue, and the installer's own hash-checked command, both as dry runs;
* the dependency closure computed with *Windows'* markers is exactly the wheelhouse, pywin32
  included (pip run on Linux would drop it: it evaluates markers on the machine it runs on);
* the files beside the wheelhouse are what a clerk's PC needs (CRLF batch file, ASCII
  requirements with hashes, a BOM'd Chinese readme, the add-in, the installer script).

Windows itself cannot run here, so the installer script is run for real on this machine
instead: a bundle for *this* platform is installed offline into a fresh venv, and the last step
(``gxsheet addin install``) fails as it must off Windows — with its Chinese message.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest

from gxsheet.cli.app import main
from gxsheet.excel import bundle as bundle_mod
from gxsheet.excel import offline_install
from gxsheet.excel.bundle import BundleError, Wheel, build_bundle, closure, host_target, read_wheelhouse, windows_target
from gxsheet.excel.xlam import build_xlam, xlwings_version

ROOT = Path(__file__).resolve().parents[2]
PYTHON = "3.11"


def _pip_env() -> dict[str, str]:
    """No pip configuration at all: what the clerk's PC has (and no local mirrors of this one)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


@pytest.fixture(scope="session")
def win_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle for 64-bit Windows / Python 3.11, built once (PyPI; about 68 MB)."""
    out = tmp_path_factory.mktemp("bundle") / "gxsheet-offline"
    started = time.monotonic()
    made = build_bundle(out, windows_target(PYTHON), timeout=900)
    print(f"\nbundle: {len(made.wheels)} wheels, {made.size / 1e6:.1f} MB, built in {time.monotonic() - started:.0f} s")
    return out


# ---------------------------------------------------------------------------------------------
# resolving offline, for Windows
# ---------------------------------------------------------------------------------------------


@pytest.mark.network
def test_the_bundle_resolves_offline_for_windows(win_bundle: Path, tmp_path: Path) -> None:
    house = win_bundle / "wheelhouse"
    target = ["--platform", "win_amd64", "--python-version", PYTHON, "--only-binary=:all:", "--target", str(tmp_path / "T")]
    pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--find-links", str(house), *target]
    done = subprocess.run([*pip, "gxsheet[addin]"], env=_pip_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Would install" in done.stdout and "xlwings-0.37.8" in done.stdout
    # the installer's own command: every file pinned and checked against its hash
    hashed = subprocess.run([*pip, "--require-hashes", "-r", str(win_bundle / "requirements.txt")],
                            env=_pip_env(), capture_output=True, text=True, timeout=300)
    assert hashed.returncode == 0, hashed.stderr
    assert "pywin32" in hashed.stdout  # listed for the target, not judged by this machine's markers


@pytest.mark.network
def test_the_wheelhouse_is_the_closure_for_windows_markers(win_bundle: Path) -> None:
    wheels = read_wheelhouse(win_bundle / "wheelhouse")
    needed, missing = closure(wheels, ["gxsheet[addin]"], windows_target(PYTHON).environment)
    assert missing == [] and set(needed) == set(wheels)
    assert needed["gxsheet"] == {"addin"} and wheels["xlwings"].version == xlwings_version()
    (pywin32,) = [r for r in wheels["xlwings"].requires if r.name == "pywin32"]
    assert str(pywin32.marker) == 'platform_system == "Windows"'
    assert pywin32.specifier.contains(wheels["pywin32"].version)
    # every binary wheel is for this target: CPython 3.11 on 64-bit Windows
    for wheel in wheels.values():
        tags = wheel.path.name.removesuffix(".whl").split("-")[-3:]
        assert tags[2] in ("any", "win_amd64"), wheel.path.name
        assert tags[0] in ("py3", "py2.py3", "cp311") or tags[0].startswith("py3"), wheel.path.name
    # judged by this (Linux) machine's markers, pywin32 would be left out: why closure() exists
    linux, _ = closure(wheels, ["gxsheet[addin]"], host_target().environment)
    assert "pywin32" not in linux


@pytest.mark.network
def test_the_bundle_files(win_bundle: Path) -> None:
    names = sorted(p.name for p in win_bundle.iterdir())
    assert names == sorted(["bundle.json", "gxsheet.xlam", "install.cmd", "offline_install.py", "requirements.txt",
                            "wheelhouse", "安装说明.txt", bundle_mod.SAMPLE_FILENAME])
    # the checklist's sample report passes 校验
    from gxsheet.check.validate import validate_record
    from gxsheet.read.workbook import read_report

    assert validate_record(read_report(win_bundle / bundle_mod.SAMPLE_FILENAME)) == []
    manifest = json.loads((win_bundle / "bundle.json").read_text(encoding="utf-8"))
    house = win_bundle / "wheelhouse"
    assert sorted(w["file"] for w in manifest["wheels"]) == sorted(p.name for p in house.iterdir())
    assert (manifest["python"], manifest["platform"], manifest["sysconfig_platform"]) == (PYTHON, "win_amd64", "win-amd64")

    requirements = (win_bundle / "requirements.txt").read_bytes()
    assert requirements.isascii()  # pip decodes it in the locale's code page (GBK on a Chinese PC)
    pinned = re.findall(r"^([\w.\-\[\]]+)==(\S+) --hash=sha256:([0-9a-f]{64})$", requirements.decode(), re.MULTILINE)
    assert len(pinned) == len(manifest["wheels"])
    assert {h for _n, _v, h in pinned} == {w["sha256"] for w in manifest["wheels"]}
    assert ("gxsheet[addin]", manifest["gxsheet"]) in {(n, v) for n, v, _h in pinned}

    cmd = (win_bundle / "install.cmd").read_bytes()
    assert cmd.count(b"\r\n") == cmd.count(b"\n") and cmd.startswith(b"@echo off\r\n")
    text = cmd.decode("utf-8")
    first_chinese = re.search(r"[\u4e00-\u9fff]", text).start()
    assert text.index("chcp 65001") < first_chinese  # cmd reads the lines after it as UTF-8
    assert f"py -{PYTHON}" in text and '"%~dp0offline_install.py" %*' in text and "pause" in text
    assert (win_bundle / "offline_install.py").read_bytes() == Path(offline_install.__file__).read_bytes()

    readme = (win_bundle / "安装说明.txt").read_bytes()
    assert readme.startswith(b"\xef\xbb\xbf") and readme.count(b"\r\n") == readme.count(b"\n")
    assert f"Python {PYTHON}" in readme.decode("utf-8-sig") and "install.cmd" in readme.decode("utf-8-sig")

    assert (win_bundle / "gxsheet.xlam").read_bytes() == build_xlam(win_bundle.parent / "x.xlam").read_bytes()
    # gxsheet's wheel is built from this working tree: its add-in sources are the ones tested here
    (own,) = house.glob("gxsheet-*.whl")
    with zipfile.ZipFile(own) as archive:
        for name in ("gxsheet_ribbon.bas", "xlwings.bas", "Dictionary.cls", "customUI.xml"):
            assert archive.read(f"gxsheet/macros/{name}") == (ROOT / "macros" / name).read_bytes(), name
        assert "gxsheet/excel/offline_install.py" in archive.namelist()


# ---------------------------------------------------------------------------------------------
# the closure, on made-up wheels (no network)
# ---------------------------------------------------------------------------------------------


def _wheel(folder: Path, name: str, version: str, *requires: str) -> Path:
    path = folder / f"{name}-{version}-py3-none-any.whl"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}-{version}.dist-info/METADATA", metadata)
    return path


def test_closure_follows_extras_and_the_targets_markers(tmp_path: Path) -> None:
    _wheel(tmp_path, "app", "1.0", "base>=1", 'winonly; sys_platform == "win32"', 'plug; extra == "addin"',
           'old; python_version < "3.8"')
    _wheel(tmp_path, "base", "1.2")
    _wheel(tmp_path, "winonly", "2.0")
    _wheel(tmp_path, "plug", "0.5", 'base<1.1; extra == "strict"')
    wheels = read_wheelhouse(tmp_path)
    windows = windows_target("3.12").environment
    assert closure(wheels, ["app"], windows) == ({"app": set(), "base": set(), "winonly": set()}, [])
    needed, missing = closure(wheels, ["app[addin]"], windows)
    assert needed == {"app": {"addin"}, "base": set(), "winonly": set(), "plug": set()} and missing == []
    linux = {**windows, "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}
    assert "winonly" not in closure(wheels, ["app"], linux)[0]
    # a version outside the range, or no wheel at all, is reported as unmet
    _needed, missing = closure(wheels, ["app", "plug[strict]", "absent"], windows)
    assert sorted((r.name, str(r.specifier)) for r in missing) == [("absent", ""), ("base", "<1.1")]


def test_two_versions_of_one_project_are_refused(tmp_path: Path) -> None:
    _wheel(tmp_path, "base", "1.0")
    _wheel(tmp_path, "base", "1.1")
    with pytest.raises(BundleError, match="base 有两个版本"):
        read_wheelhouse(tmp_path)


def test_targets_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = windows_target("3.13")
    assert (target.pip_platforms, target.environment["python_version"], target.environment["platform_system"]) == (
        ("win_amd64",), "3.13", "Windows")
    with pytest.raises(BundleError, match="不支持 Python 3.10"):
        windows_target("3.10")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("clerk's file", encoding="utf-8")
    assert main(["addin", "bundle", "-o", str(busy)]) == 2
    assert "不是空文件夹" in capsys.readouterr().err and (busy / "keep.txt").is_file()
    assert main(["addin", "bundle", "-o", str(tmp_path / "x"), "--python", "3.10"]) == 2  # a usage error
    assert not (tmp_path / "x").exists()


def test_a_failed_build_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(_args: object, _timeout: float) -> None:
        raise BundleError("pip download 失败：ERROR: Could not find a version that satisfies the requirement")

    monkeypatch.setattr(bundle_mod, "_pip", offline)
    with pytest.raises(BundleError, match="Could not find"):
        build_bundle(tmp_path / "out", windows_target(PYTHON))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# the installer script
# ---------------------------------------------------------------------------------------------

_MANIFEST = {"gxsheet": "0.1.0", "xlwings": "0.37.8", "python": "3.13", "platform": "win_amd64",
             "platform_label": "64 位 Windows", "sysconfig_platform": "win-amd64", "wheels": [{}, {}]}


def test_installer_checks_the_python_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert offline_install.check_python(_MANIFEST, (3, 13), "win-amd64") is None
    wrong = offline_install.check_python(_MANIFEST, (3, 11), "win-amd64")
    assert wrong is not None and "为 Python 3.13（64 位 Windows）准备的" in wrong and "--python 3.11" in wrong
    assert "win32" in offline_install.check_python(_MANIFEST, (3, 13), "win32")
    (tmp_path / "bundle.json").write_text(json.dumps(_MANIFEST, ensure_ascii=False), encoding="utf-8")
    assert offline_install.main([], tmp_path) == offline_install.EXIT_WRONG_PYTHON  # this is Linux
    out = capsys.readouterr().out
    assert "请安装 Python 3.13" in out and "Traceback" not in out
    assert offline_install.main([], tmp_path / "nowhere") == offline_install.EXIT_BUNDLE
    assert "安装包不完整" in capsys.readouterr().out


def test_installer_pip_runs_offline_and_checks_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command = offline_install.pip_command(tmp_path)
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    for flag in ("--no-index", "--isolated", "--require-hashes"):
        assert flag in command
    assert command[command.index("--find-links") + 1] == str(tmp_path / "wheelhouse")
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/simple")
    env = offline_install._pip_environment()
    assert env["PIP_CONFIG_FILE"] == os.devnull and "PIP_INDEX_URL" not in env


@pytest.mark.slow
@pytest.mark.network
def test_the_installer_installs_offline_into_a_fresh_python(tmp_path: Path) -> None:
    """The whole installer, for real, on this machine: a bundle for this platform, a fresh venv,
    no index and no pip configuration; then ``gxsheet addin install`` refuses (not Windows)."""
    folder = tmp_path / "bundle"
    build_bundle(folder, host_target(), timeout=900)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PIP_")}
    done = subprocess.run([str(python), str(folder / "offline_install.py")], env=env, capture_output=True, text=True,
                          timeout=900, cwd=tmp_path)
    assert done.returncode == offline_install.EXIT_ADDIN, done.stdout + done.stderr
    assert "[2/2]" in done.stdout and "加载项没有装上" in done.stdout
    assert "Excel 加载项需要 Windows 或 macOS" in done.stderr  # gxsheet addin install, in Chinese
    assert "Traceback" not in done.stdout + done.stderr
    check = subprocess.run([str(python), "-c", "import gxsheet.excel.addin, xlwings; print(xlwings.__version__)"],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert check.returncode == 0 and check.stdout.strip() == xlwings_version()


def test_wheel_metadata_is_read_from_the_wheel(tmp_path: Path) -> None:
    wheel = bundle_mod.read_wheel(_wheel(tmp_path, "Some_Project", "2.0", "base>=1; extra == 'x'"))
    assert isinstance(wheel, Wheel) and (wheel.name, wheel.version) == ("some-project", "2.0")
    assert [str(r) for r in wheel.requires] == ['base>=1; extra == "x"']
