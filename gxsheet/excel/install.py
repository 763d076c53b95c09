"""Install / uninstall the gxsheet Excel add-in for the current user.

Why it works this way: Excel opens every workbook in its per-user startup folder when it starts,
so dropping ``gxsheet.xlam`` there is a complete, admin-free installation (XLSTART is also a
trusted location on Windows, so the add-in's macros run without a prompt). The add-in calls
Python through xlwings, which reads the interpreter from the add-in's own ``xlwings.conf`` sheet;
installing therefore *rebuilds* the add-in with the interpreter that runs this code (the one that
has gxsheet installed) instead of patching a binary.

Only Microsoft Excel on Windows or macOS can run the add-in (VBA + xlwings); anywhere else
:class:`AddinUnsupported` is raised with a message that points to what works there.

All path logic takes the platform, home folder and environment as arguments, so it is tested on
Linux for every platform.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gxsheet.excel.xlam import ADDIN_FILENAME, build_xlam

UNSUPPORTED_MESSAGE = (
    "Excel 加载项需要 Windows 或 macOS 上的 Microsoft Excel；"
    "WPS 和 LibreOffice 请直接使用模板的实时校验和 gxsheet 命令行。"
)

# Excel 2016+ for Mac is sandboxed; its per-user startup folder lives in the Office group
# container. Finder hides the ".localized" suffixes, which are the real folder names on disk on
# current versions; older installs have the plain names.
_MAC_CONTAINER = Path("Library/Group Containers/UBF8T346G9.Office")
_MAC_STARTUP_CANDIDATES = (
    Path("User Content.localized/Startup.localized/Excel"),
    Path("User Content/Startup/Excel"),
)
# Where Mac Excel's AppleScriptTask looks for scripts; xlwings' RunPython needs its script there.
_MAC_SCRIPTS = Path("Library/Application Scripts/com.microsoft.Excel")


class AddinUnsupported(RuntimeError):
    """The add-in cannot run on this platform (not Windows or macOS)."""

    def __init__(self, message: str = UNSUPPORTED_MESSAGE) -> None:
        super().__init__(message)


class NotReady(RuntimeError):
    """This Python cannot serve the add-in (no interpreter file, xlwings missing or another
    version); ``str(e)`` says, in Chinese, what to do. Checked at install time so the clerk
    never meets it as a failing button."""


def current_interpreter(executable: str | None = None) -> str:
    """``sys.executable``, checked: the add-in starts this file for every click.

    Python documents that ``sys.executable`` may be empty when it cannot tell its own path
    (embedded or frozen interpreters); writing that into the add-in would fail every button.
    """
    executable = sys.executable if executable is None else executable
    if not executable or not os.path.isfile(executable):
        raise NotReady(f"找不到当前 Python 解释器的文件（{executable or '路径为空'}），无法把它写进加载项。\n"
                       "请用正常安装的 Python（python.org 的安装程序）运行：python -m gxsheet addin install")
    return executable


def check_xlwings(macros_dir: Path | None = None, installed: Callable[[str], str] | None = None) -> str:
    """The installed xlwings version if it is the one the add-in's VBA was built for."""
    from importlib.metadata import PackageNotFoundError, version

    from gxsheet.excel.xlam import xlwings_version

    wanted = xlwings_version(macros_dir)
    try:
        found = (installed or version)("xlwings")
    except PackageNotFoundError:
        raise NotReady(f"这个 Python 没有安装 xlwings，加载项无法调用 Python。\n"
                       f"请运行：python -m pip install \"gxsheet[addin]\"（会装上 xlwings {wanted}），"
                       "再运行 gxsheet addin install。") from None
    if found != wanted:
        raise NotReady(f"这个 Python 装的是 xlwings {found}，加载项需要 xlwings {wanted}（两者的 DLL 必须同版本）。\n"
                       f"请运行：python -m pip install \"xlwings=={wanted}\"，再运行 gxsheet addin install。")
    return found


def _kind(platform: str) -> str:
    if platform.startswith("win"):
        return "windows"
    if platform == "darwin":
        return "macos"
    raise AddinUnsupported()


@dataclass(frozen=True)
class InstallPlan:
    """Where the add-in goes and what the config sheet gets, for one platform."""

    platform: str
    addin_path: Path
    config: dict[str, str]
    applescript_dir: Path | None = None


def startup_dir(
    platform: str | None = None,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Path:
    """Excel's per-user startup folder (not created here).

    Windows: ``%APPDATA%\\Microsoft\\Excel\\XLSTART`` (``~\\AppData\\Roaming`` if APPDATA is unset).
    macOS: the Office group container's ``Startup/Excel`` folder, preferring whichever variant
    already exists.
    """
    platform = sys.platform if platform is None else platform
    home = Path.home() if home is None else Path(home)
    env = os.environ if env is None else env
    if _kind(platform) == "windows":
        appdata = env.get("APPDATA") or str(home / "AppData" / "Roaming")
        return Path(appdata) / "Microsoft" / "Excel" / "XLSTART"
    container = home / _MAC_CONTAINER
    for candidate in _MAC_STARTUP_CANDIDATES:
        if (container / candidate).is_dir():
            return container / candidate
    return container / _MAC_STARTUP_CANDIDATES[0]


def windows_interpreter(executable: str, exists: Callable[[str], bool] = os.path.exists) -> str:
    """``pythonw.exe`` beside ``executable`` if there is one, else ``executable`` itself.

    pythonw has no console, so clicking a ribbon button does not flash a black window. String
    based (not pathlib) so a Windows path can be handled, and tested, on any OS.
    """
    cut = max(executable.rfind("\\"), executable.rfind("/")) + 1
    folder, name = executable[:cut], executable[cut:]
    if name.lower() == "pythonw.exe":
        return executable
    candidate = folder + "pythonw.exe"
    return candidate if exists(candidate) else executable


def plan(
    platform: str | None = None,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
    executable: str | None = None,
) -> InstallPlan:
    """Decide target path and interpreter setting without touching the file system."""
    platform = sys.platform if platform is None else platform
    home = Path.home() if home is None else Path(home)
    executable = current_interpreter() if executable is None else executable
    target = startup_dir(platform, home, env) / ADDIN_FILENAME
    if _kind(platform) == "windows":
        return InstallPlan(platform, target, {"Interpreter_Win": windows_interpreter(executable)})
    return InstallPlan(
        platform, target, {"Interpreter_Mac": executable}, applescript_dir=home / _MAC_SCRIPTS
    )


def _install_applescript(folder: Path) -> None:
    """Copy xlwings' AppleScript (needed by RunPython on Mac), like ``xlwings runpython install``."""
    import xlwings

    script = Path(xlwings.__file__).resolve().parent / f"xlwings-{xlwings.__version__}.applescript"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(script, folder / script.name)


def install(
    *,
    platform: str | None = None,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
    executable: str | None = None,
    macros_dir: Path | None = None,
) -> Path:
    """Build the add-in with this interpreter into Excel's startup folder; return its path.

    Refuses (:class:`NotReady`) when this Python lacks the xlwings version the VBA needs.
    Restart Excel afterwards (an already running Excel keeps the old copy loaded).
    """
    steps = plan(platform, home, env, executable)
    check_xlwings(macros_dir)
    try:
        build_xlam(steps.addin_path, macros_dir, config=steps.config)
    except PermissionError as exc:
        raise PermissionError(
            f"无法写入 {steps.addin_path}：请先退出 Excel 再安装加载项。"
        ) from exc
    if steps.applescript_dir is not None:
        _install_applescript(steps.applescript_dir)
    return steps.addin_path


def uninstall(
    *,
    platform: str | None = None,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Path | None:
    """Remove the add-in from Excel's startup folder; return the removed path (None if absent).

    The xlwings AppleScript on macOS is left in place: the xlwings add-in itself may use it.
    """
    target = startup_dir(platform, home, env) / ADDIN_FILENAME
    try:
        target.unlink()
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        raise PermissionError(f"无法删除 {target}：请先退出 Excel 再卸载加载项。") from exc
    return target
