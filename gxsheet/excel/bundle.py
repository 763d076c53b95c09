"""``gxsheet addin bundle``: an offline install bundle for a Windows PC without internet access.

Why: many clerks' PCs sit on a government intranet with no PyPI. The bundle is made on any
machine that has internet (Linux CI included) and copied over on a USB stick. It holds

* ``wheelhouse/`` — gxsheet and every dependency as wheels for *one* target (Windows x64 and one
  Python minor version), pywin32 included;
* ``requirements.txt`` — every wheel pinned with its SHA-256, so the offline install checks
  each file (a copy gone wrong on a USB stick fails loudly instead of installing half);
* ``install.cmd`` + ``offline_install.py`` — find Python, check its version, ``pip install
  --no-index`` from the wheelhouse, then ``gxsheet addin install`` with that Python;
* ``gxsheet.xlam`` (the add-in as built, for inspection), ``bundle.json``, ``安装说明.txt`` and a
  filled, valid sample report to run the checklist in docs/addin.md on a PC that cannot download one.

Resolving for another platform with pip: ``pip download --platform win_amd64 --python-version
3.11 --only-binary=:all:`` picks Windows wheels, but pip evaluates environment markers against the
machine it runs on (pypa/pip#11664). Run on Linux, it silently drops ``pywin32; platform_system
== "Windows"`` — xlwings would not even import on the clerk's PC. So after pip's download the
dependency closure is recomputed here with the *target's* markers (:func:`closure`), whatever is
missing is downloaded too, and wheels only the build machine wanted are removed.
"""

from __future__ import annotations

import base64
import email.parser
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.tags import platform_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

#: what the bundle installs: gxsheet with the add-in's extra (xlwings, and through it pywin32)
ROOT_REQUIREMENT = "gxsheet[addin]"
PYTHONS = ("3.11", "3.12", "3.13")
PLATFORMS = ("win_amd64",)
#: a filled report that passes 校验, for the checklist on the target PC
SAMPLE_FILENAME = "示例-2021版年报（检查用）.xlsx"
#: longest a single pip call may take (downloads of ~70 MB on a slow line included)
PIP_TIMEOUT = 1800
_MAX_ROUNDS = 5


class BundleError(Exception):
    """The bundle could not be made; ``str(e)`` is one Chinese line saying why and what to do."""


@dataclass(frozen=True)
class Target:
    """The machine the bundle is for: pip's platform tags, the Python version, and the values
    PEP 508 environment markers see there."""

    platform: str  # the name users pass (--platform), e.g. win_amd64
    python: str  # "3.11"
    pip_platforms: tuple[str, ...]
    sysconfig_platform: str  # sysconfig.get_platform() there, checked by offline_install.py
    label: str  # for messages: 64 位 Windows
    environment: Mapping[str, str] = field(default_factory=dict)


def windows_target(python: str, platform: str = "win_amd64") -> Target:
    """64-bit Windows with CPython ``python``."""
    if python not in PYTHONS:
        raise BundleError(f"不支持 Python {python}；可选：{'、'.join(PYTHONS)}。")
    if platform not in PLATFORMS:
        raise BundleError(f"不支持平台 {platform}；可选：{'、'.join(PLATFORMS)}。")
    environment = {
        "implementation_name": "cpython", "implementation_version": f"{python}.0",
        "os_name": "nt", "platform_machine": "AMD64", "platform_python_implementation": "CPython",
        "platform_release": "10", "platform_system": "Windows", "platform_version": "10.0.19045",
        # the patch level is unknown; x.0 is what a marker on python_full_version can rely on
        "python_full_version": f"{python}.0", "python_version": python, "sys_platform": "win32",
    }
    return Target(platform, python, (platform,), "win-amd64", "64 位 Windows", environment)


def host_target() -> Target:
    """The machine this runs on (used by the tests to install a bundle for real)."""
    import sysconfig

    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return Target(sysconfig.get_platform(), python, tuple(platform_tags()), sysconfig.get_platform(),
                  sysconfig.get_platform(), dict(default_environment()))


# ---------------------------------------------------------------------------------------------
# wheels and their metadata
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wheel:
    path: Path
    name: str  # canonical
    version: str
    requires: tuple[Requirement, ...]


def read_wheel(path: Path) -> Wheel:
    """Name, version and Requires-Dist of a wheel, from its ``*.dist-info/METADATA``."""
    name, version, _build, _tags = parse_wheel_filename(path.name)
    with zipfile.ZipFile(path) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        message = email.parser.HeaderParser().parsestr(archive.read(metadata).decode("utf-8"))
    requires = tuple(Requirement(r) for r in message.get_all("Requires-Dist") or ())
    return Wheel(path, canonicalize_name(name), str(version), requires)


def read_wheelhouse(folder: Path) -> dict[str, Wheel]:
    """Every wheel in ``folder`` by canonical name (two versions of one project is an error)."""
    wheels: dict[str, Wheel] = {}
    for path in sorted(folder.glob("*.whl")):
        wheel = read_wheel(path)
        if wheel.name in wheels:
            raise BundleError(f"wheelhouse 中 {wheel.name} 有两个版本（{wheels[wheel.name].path.name}、{path.name}），"
                              "依赖之间的版本要求冲突。")
        wheels[wheel.name] = wheel
    return wheels


def closure(wheels: Mapping[str, Wheel], roots: Iterable[str],
            environment: Mapping[str, str]) -> tuple[dict[str, set[str]], list[Requirement]]:
    """What the target installs for ``roots``: ``({project: extras}, [unmet requirements])``.

    Markers are evaluated with the target's ``environment`` (and each requested extra), which is
    what pip itself will do on the target; an unmet requirement has no wheel in ``wheels`` or
    one whose version is outside the requirement's range.
    """
    needed: dict[str, set[str]] = {}
    missing: list[Requirement] = []
    queue = [Requirement(r) for r in roots]
    while queue:
        requirement = queue.pop(0)
        name = canonicalize_name(requirement.name)
        wheel = wheels.get(name)
        if wheel is None or not requirement.specifier.contains(wheel.version, prereleases=True):
            if str(requirement) not in map(str, missing):
                missing.append(requirement)
            continue
        extras = {canonicalize_name(e) for e in requirement.extras}
        if name in needed and extras <= needed[name]:
            continue
        needed.setdefault(name, set()).update(extras)
        contexts = [""] + sorted(needed[name])
        for dependency in wheel.requires:
            marker = dependency.marker
            if marker is None or any(marker.evaluate({**environment, "extra": e}) for e in contexts):
                queue.append(dependency)
    return needed, missing


# ---------------------------------------------------------------------------------------------
# pip
# ---------------------------------------------------------------------------------------------


def _pip(args: Sequence[str], timeout: float) -> None:
    """Run ``python -m pip ARGS`` quietly; a failure is a BundleError naming pip's last error line."""
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        raise BundleError(f"pip 超过 {int(timeout)} 秒没有完成（{' '.join(args[:1])}），请检查网络后重试。") from e
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
        detail = errors[-1] if errors else f"退出码 {done.returncode}"
        raise BundleError(f"pip {args[0]} 失败：{detail}\n请检查网络和 pip 的镜像设置（pip config list）后重试。")


def _unconditional(requirement: Requirement) -> str:
    """The requirement without its marker: pip would evaluate it on *this* machine and skip it."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"


def _download(requirements: Sequence[str], target: Target, dest: Path, timeout: float) -> None:
    platforms = [arg for tag in target.pip_platforms for arg in ("--platform", tag)]
    _pip(["download", "--dest", str(dest), "--find-links", str(dest), "--only-binary=:all:",
          "--implementation", "cp", "--python-version", target.python, *platforms, *requirements], timeout)


def source_tree() -> Path | None:
    """The checkout gxsheet runs from (pyproject.toml beside the package), or None if installed."""
    import gxsheet

    root = Path(gxsheet.__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "gxsheet"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def gxsheet_wheel(dest: Path, timeout: float = PIP_TIMEOUT) -> Path:
    """gxsheet's own wheel in ``dest``: the gxsheet that is running, never one from the index.

    From a checkout (or an editable install) the wheel is built from the working tree; from an
    ordinary install it is packed again from the installed files (:func:`installed_wheel`). The
    index is no source: it may not have this version at all, or a different build under its
    number, and the bundle would then install something the user never ran.
    """
    tree = source_tree()
    if tree is None:
        return installed_wheel(dest)
    _pip(["wheel", "--no-deps", "--wheel-dir", str(dest), str(tree)], timeout)
    found = sorted(dest.glob("gxsheet-*.whl"))
    if len(found) != 1:
        raise BundleError(f"没有得到 gxsheet 的 wheel（{dest}）。")
    return found[0]


#: files an installer adds to a wheel's .dist-info; a wheel must not carry them (PEP 376, PEP 610)
_INSTALLER_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "RECORD.jws", "RECORD.p7s"}


def installed_wheel(dest: Path) -> Path:
    """gxsheet's wheel packed again from an installed (non-editable) copy, into ``dest``.

    An installed wheel is the wheel's files unpacked into site-packages, listed in the
    .dist-info's RECORD; packing RECORD's files back (less what the installer added: byte-code,
    the console scripts it generated, INSTALLER and the like) gives the same wheel, with a
    RECORD of fresh hashes (PEP 427).
    """
    import gxsheet

    try:
        dist = metadata.distribution("gxsheet")
    except metadata.PackageNotFoundError:
        dist = None
    here = Path(gxsheet.__file__).resolve()
    if dist is None or not dist.files or Path(str(dist.locate_file("gxsheet/__init__.py"))).resolve() != here:
        raise BundleError(f"找不到正在运行的 gxsheet（{here.parent}）的安装记录（.dist-info/RECORD），无法把它打进安装包；"
                          "请用 pip 安装 gxsheet，或在 gxsheet 的源码目录中运行。")
    info = next(f.parts[0] for f in dist.files if f.parts[0].endswith(".dist-info"))
    tags = [line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")]
    if not tags:
        raise BundleError(f"gxsheet 的安装记录不完整（{info}/WHEEL 缺少 Tag），请重新安装 gxsheet。")
    files = sorted(str(f) for f in dist.files
                   if f.parts[0] != ".." and "__pycache__" not in f.parts and f.suffix != ".pyc"
                   and not (f.parts[0] == info and f.name in _INSTALLER_FILES))
    files = [f for f in files if not f.startswith(info + "/")] + [f for f in files if f.startswith(info + "/")]
    target = dest / f"gxsheet-{dist.version}-{tags[0]}.whl"
    record = []

    def entry(name: str) -> zipfile.ZipInfo:  # fixed time and mode: the same install packs the same bytes
        item = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        item.compress_type, item.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
        return item

    with zipfile.ZipFile(target, "w") as wheel:
        for name in files:
            data = Path(str(dist.locate_file(name))).read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
            wheel.writestr(entry(name), data)
            record.append(f"{name},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        wheel.writestr(entry(f"{info}/RECORD"), "\n".join(record) + "\n")
    return target


def wheelhouse(dest: Path, target: Target, timeout: float = PIP_TIMEOUT) -> dict[str, Wheel]:
    """Fill ``dest`` with gxsheet[addin] and its closure for ``target``; return the wheels kept."""
    own = gxsheet_wheel(dest, timeout)
    _download([f"{own}[addin]"], target, dest, timeout)
    for _round in range(_MAX_ROUNDS):
        wheels = read_wheelhouse(dest)
        needed, missing = closure(wheels, [ROOT_REQUIREMENT], target.environment)
        if not missing:
            break
        conflicting = [r for r in missing if canonicalize_name(r.name) in wheels]
        if conflicting:
            found = wheels[canonicalize_name(conflicting[0].name)].version
            raise BundleError(f"依赖版本冲突：需要 {conflicting[0]}，下载到的是 {found}。")
        _download([_unconditional(r) for r in missing], target, dest, timeout)
    else:
        raise BundleError(f"依赖在 {_MAX_ROUNDS} 轮下载后仍不完整：{'、'.join(map(str, missing))}。")
    for name, wheel in wheels.items():
        if name not in needed:  # wanted only by the build machine's markers
            wheel.path.unlink()
    return {name: wheels[name] for name in sorted(needed)}


# ---------------------------------------------------------------------------------------------
# the bundle's files
# ---------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def requirements_text(wheels: Mapping[str, Wheel], hashes: Mapping[str, str]) -> str:
    """Every wheel pinned with its hash; gxsheet with its add-in extra."""
    # ASCII only: pip decodes a requirements file in the locale's code page (GBK on a Chinese PC)
    lines = ["# gxsheet offline bundle: every wheel pinned with its SHA-256 (pip --require-hashes)"]
    for name, wheel in wheels.items():
        project = "gxsheet[addin]" if name == "gxsheet" else name
        lines.append(f"{project}=={wheel.version} --hash=sha256:{hashes[name]}")
    return "\n".join(lines) + "\n"


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def install_cmd(target: Target) -> bytes:
    """``install.cmd``: find Python X.Y, run offline_install.py with it, keep the window open.

    CRLF line endings (cmd mis-parses labels and blocks in LF-only batch files). ``chcp 65001``
    comes first so cmd reads the Chinese lines after it as UTF-8 (Windows 10 and later — which
    any Python 3.11+ needs anyway). The ``py`` launcher is tried before ``python`` on PATH, and a
    candidate counts only if it really runs (PATH's ``python`` may be the Microsoft Store stub).
    """
    v = target.python
    return _crlf(f"""@echo off
rem gxsheet offline install: find Python {v} and run offline_install.py with it (see the .txt file).
setlocal
chcp 65001 >nul
cd /d "%~dp0"
set "GX_PY="
py -{v} -c "import sys" >nul 2>nul && set "GX_PY=py -{v}"
if not defined GX_PY python -c "import sys" >nul 2>nul && set "GX_PY=python"
if not defined GX_PY (
  echo.
  echo 没有找到 Python {v}。
  echo 请先安装 {target.label} 版的 Python {v}，安装时勾选 Add python.exe to PATH，再双击 install.cmd。
  echo.
  pause
  exit /b 1
)
%GX_PY% "%~dp0offline_install.py" %*
set "GX_RC=%ERRORLEVEL%"
echo.
pause
exit /b %GX_RC%
""")


def readme(target: Target, wheels: Mapping[str, Wheel], size: int) -> bytes:
    """``安装说明.txt``: UTF-8 with a BOM (old Notepad guesses the code page otherwise), CRLF."""
    v = target.python
    text = f"""gxsheet Excel 加载项 · 离线安装包
gxsheet {wheels['gxsheet'].version} · xlwings {wheels['xlwings'].version} · Python {v}（{target.label}）

文件夹里有：
  install.cmd          双击运行：安装 gxsheet 和 Excel 加载项，不需要联网
  offline_install.py   install.cmd 调用的安装程序
  wheelhouse\\          gxsheet 及全部依赖（{len(wheels)} 个 .whl 文件，共 {size / 1e6:.0f} MB）
  requirements.txt     每个文件的版本和 SHA-256 校验值，安装时逐个核对
  gxsheet.xlam         加载项（仅供查看；install.cmd 会按这台电脑的 Python 重新生成并安装它）
  {SAMPLE_FILENAME}  填好的示例年报，装好后检查按钮用（先复制到桌面再打开）
  bundle.json          打包信息

安装（每台电脑一次，约 3 分钟）：
1. 安装 Python {v}（{target.label}，64 位）。本安装包不含 Python：请把 python-{v}.x-amd64.exe
   （python.org 或国内镜像下载）一并拷来安装，安装时勾选“Add python.exe to PATH”，其余保持默认。
   已经装有 Python {v} 的跳过这一步。
2. 退出 Excel。
3. 双击 install.cmd，等窗口中出现“安装完成”。
4. 重新打开 Excel，功能区出现“政务公开年报”选项卡；点“新建模板”试一下。

常见问题：
- “没有找到 Python {v}”：第 1 步没有做，或安装时没勾选 Add python.exe to PATH
  （重新运行 Python 安装程序，选 Modify 补上）。
- “本安装包是为 Python {v} 准备的”：这台电脑装的是别的版本。装上 Python {v}，
  或在联网的电脑上运行 gxsheet addin bundle --python 3.xx 按那个版本重新打包。
- 出现 HASHES / 校验值不符：文件拷坏了，请重新拷贝整个文件夹。
- 点按钮时的提示各是什么意思、五分钟检查清单：见 gxsheet 文档 docs/addin.md。
"""
    return b"\xef\xbb\xbf" + _crlf(text)


@dataclass(frozen=True)
class Bundle:
    folder: Path
    wheels: tuple[str, ...]  # file names
    size: int  # bytes of the whole bundle


def _prepare(out: Path, force: bool) -> None:
    if out.is_file():
        raise BundleError(f"{out} 是一个文件；请指定一个（新的或空的）文件夹。")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise BundleError(f"{out} 已存在且不是空文件夹；换一个文件夹，或加 --force 替换它。")


def build_bundle(out: Path, target: Target, *, force: bool = False, timeout: float = PIP_TIMEOUT) -> Bundle:
    """Make the bundle in ``out`` for ``target``; nothing is left half-made on failure.

    Everything is built in a temporary folder beside ``out`` and moved into place at the end.
    """
    from gxsheet.excel.xlam import ADDIN_FILENAME, build_xlam, xlwings_version
    from gxsheet.render.samples import write_sample

    out = Path(out).absolute()
    _prepare(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        house = work / "wheelhouse"
        house.mkdir()
        wheels = wheelhouse(house, target, timeout)
        pinned = xlwings_version()
        if wheels.get("xlwings") is None or wheels["xlwings"].version != pinned:
            found = wheels["xlwings"].version if "xlwings" in wheels else "无"
            raise BundleError(f"wheelhouse 中的 xlwings 是 {found}，加载项的 VBA 需要 {pinned}。")
        hashes = {name: _sha256(w.path) for name, w in wheels.items()}
        build_xlam(work / ADDIN_FILENAME)
        write_sample(work / SAMPLE_FILENAME, "2021", seed=1)
        (work / "requirements.txt").write_text(requirements_text(wheels, hashes), encoding="utf-8")
        (work / "install.cmd").write_bytes(install_cmd(target))
        script = resources.files("gxsheet.excel").joinpath("offline_install.py").read_bytes()
        (work / "offline_install.py").write_bytes(script)
        wheel_size = sum(w.path.stat().st_size for w in wheels.values())
        manifest = {
            "gxsheet": wheels["gxsheet"].version, "xlwings": wheels["xlwings"].version,
            "python": target.python, "platform": target.platform, "platform_label": target.label,
            "sysconfig_platform": target.sysconfig_platform,
            "wheels": [{"file": w.path.name, "sha256": hashes[n], "size": w.path.stat().st_size}
                       for n, w in wheels.items()],
        }
        (work / "bundle.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        (work / "安装说明.txt").write_bytes(readme(target, wheels, wheel_size))
        size = sum(p.stat().st_size for p in work.rglob("*") if p.is_file())
        work.chmod(0o755)  # mkdtemp makes it private; the bundle is meant to be copied around
        if out.exists():
            shutil.rmtree(out)  # only reached with force=True, or when out is an empty folder
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Bundle(out, tuple(w.path.name for w in wheels.values()), size)


__all__ = ["Bundle", "BundleError", "Target", "build_bundle", "closure", "host_target", "read_wheelhouse",
           "windows_target"]
