"""Install gxsheet and its Excel add-in from an offline bundle (``gxsheet addin bundle``), no network.

Why it is its own script: it runs *before* gxsheet is installed, on a clerk's PC that may have
no internet at all, so it uses the standard library only and is copied into the bundle next to
``install.cmd`` (which finds a Python and runs this file with it). Every message is Chinese and
says what to do; pip's own output is shown as it goes, because an IT person reads it.

Steps: check this Python against the bundle (version and platform — the wheels are built for
exactly one), install every wheel listed in ``requirements.txt`` from ``wheelhouse/`` with pip
in isolated mode (no index, no pip.ini, every file checked against its SHA-256), then run
``python -m gxsheet addin install`` with this same Python so the add-in records it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

EXIT_OK, EXIT_WRONG_PYTHON, EXIT_PIP, EXIT_ADDIN, EXIT_BUNDLE = 0, 2, 3, 4, 5


def _say(text: str) -> None:
    print(text, flush=True)


def check_python(bundle: dict, version: tuple[int, int] | None = None, platform: str | None = None) -> str | None:
    """None if this Python can use the bundle's wheels, else the Chinese reason and what to do."""
    version = sys.version_info[:2] if version is None else version
    platform = sysconfig.get_platform() if platform is None else platform
    wanted = bundle["python"]
    here = f"{version[0]}.{version[1]}"
    if here != wanted or platform != bundle["sysconfig_platform"]:
        return (f"本安装包是为 Python {wanted}（{bundle['platform_label']}）准备的，"
                f"运行它的是 Python {here}（{platform}）：{sys.executable}\n"
                f"请安装 Python {wanted} 的 {bundle['platform_label']} 版本后再运行 install.cmd；"
                f"或在联网的电脑上运行 gxsheet addin bundle --python {here} 重新打包。")
    return None


def _pip_environment() -> dict[str, str]:
    """The environment for pip: no PIP_* variables and no configuration file (os.devnull)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def pip_command(folder: Path) -> list[str]:
    """The offline install: only the bundle's wheels, each checked against requirements.txt."""
    return [sys.executable, "-m", "pip", "install", "--isolated", "--no-index", "--disable-pip-version-check",
            "--no-warn-script-location", "--find-links", str(folder / "wheelhouse"),
            "--require-hashes", "-r", str(folder / "requirements.txt")]


def main(argv: list[str] | None = None, folder: Path | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(__file__).resolve().parent if folder is None else folder
    try:
        bundle = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        _say(f"安装包不完整：读不到 {folder / 'bundle.json'}（{e}）。请重新拷贝整个安装包文件夹。")
        return EXIT_BUNDLE
    _say(f"gxsheet {bundle['gxsheet']} 离线安装 · Python {bundle['python']}（{bundle['platform_label']}）")
    problem = check_python(bundle)
    if problem:
        _say(problem)
        return EXIT_WRONG_PYTHON
    _say(f"\n[1/2] 从安装包安装 gxsheet 及 {len(bundle['wheels']) - 1} 个依赖（不联网，逐个核对 SHA-256）…\n")
    pip = subprocess.run(pip_command(folder), env=_pip_environment(), check=False)
    if pip.returncode != 0:
        _say(f"\n安装失败（pip 退出码 {pip.returncode}），原因见上面 pip 的输出：\n"
             "· 出现 “THESE PACKAGES DO NOT MATCH THE HASHES”：wheelhouse 中的文件损坏或被改动，请重新拷贝整个安装包；\n"
             "· 出现 “No module named pip”：请重新运行 Python 安装程序，选 Modify 并勾选 pip；\n"
             "· 出现 “Permission denied” / “拒绝访问”：请关闭正在使用 Python 的程序（包括 Excel）后再试。")
        return EXIT_PIP
    _say("\n[2/2] 安装 Excel 加载项（写入这个 Python 的位置）…\n")
    addin = subprocess.run([sys.executable, "-m", "gxsheet", "addin", "install", *args], check=False)
    if addin.returncode != 0:
        _say(f"\ngxsheet 已安装，但加载项没有装上（退出码 {addin.returncode}），原因见上一行。\n"
             "处理后可以再次双击 install.cmd（已装好的部分会跳过）。")
        return EXIT_ADDIN
    _say("\n安装完成。请重新打开 Excel：功能区会出现“政务公开年报”选项卡，先点“新建模板”试一下。")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
