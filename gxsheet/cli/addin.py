"""``gxsheet addin build|install|uninstall|bundle``: the Excel add-in and its offline install bundle.

``build`` works everywhere (the add-in is compiled from the text sources in ``macros/``, byte for
byte reproducibly), and so does ``bundle -o DIR`` (an offline install bundle for a Windows PC
without internet; it needs the internet itself). ``install``/``uninstall`` put the add-in into / take it out of Excel's per-user
startup folder and only make sense where Microsoft Excel runs (Windows, macOS); elsewhere they
exit 2 with one line that says so and what to use instead — never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gxsheet.cli.usage import Example, Text, no_action

EXAMPLES = (
    Example("gxsheet addin install", "安装到 Excel（Windows/macOS），之后重启 Excel", "install into Excel (Windows/macOS), then restart Excel"),
    Example("gxsheet addin build -o gxsheet.xlam", "生成加载项文件", "build the add-in file"),
    Example("gxsheet addin bundle -o 离线安装包", "为不能上网的 Windows 电脑生成离线安装包", "an offline install bundle for a PC without internet"),
    Example("gxsheet addin uninstall", "卸载", "uninstall"),
)


def register(sub: argparse._SubParsersAction, T: Text) -> None:
    p = sub.add_parser(
        "addin", help=T("Excel 加载项：生成、安装、卸载、离线安装包", "the Excel add-in: build, install, uninstall, bundle"),
        description=T("Excel 加载项（功能区“政务公开年报”选项卡：校验、导出文本、新建模板）。"
                      "需要 Windows 或 macOS 上的 Microsoft Excel 和 pip install \"gxsheet[addin]\"；详见 docs/addin.md。",
                      "The Excel add-in (a ribbon tab: validate, export text, new template). Needs Microsoft Excel on "
                      "Windows or macOS and pip install \"gxsheet[addin]\"; see docs/addin.md."))
    actions = p.add_subparsers(dest="addin_action", metavar="ACTION", title=T("操作", "actions"))
    b = actions.add_parser("build", help=T("由 macros/ 源文件生成 gxsheet.xlam（可重现）", "build the .xlam from macros/ (reproducible)"),
                           description=T("由 macros/ 中的 VBA、功能区 XML 和配置生成加载项；相同输入得到逐字节相同的文件。",
                                         "Build the add-in from the VBA, ribbon XML and config in macros/; the same "
                                         "inputs give the same bytes."))
    b.add_argument("-o", "--output", required=True, metavar="FILE.xlam",
                   help=T("加载项文件名（必填，.xlam）", "the add-in file to write (required, .xlam)"))
    b.add_argument("--force", action="store_true", help=T("覆盖已存在的文件", "overwrite an existing file"))
    b.set_examples(EXAMPLES[1:2])
    b.set_defaults(func=run_build)
    i = actions.add_parser("install", help=T("安装到当前用户的 Excel 启动文件夹", "install for this user"),
                           description=T("把加载项（写入本机 Python 的路径）放进 Excel 的启动文件夹（XLSTART）；之后重启 Excel。",
                                         "Put the add-in (with this machine's Python path) into Excel's startup folder "
                                         "(XLSTART); then restart Excel."))
    i.add_argument("--udf-server", action="store_true",
                   help=T("（仅 Windows）让 Python 在后台常驻，之后每次点按钮不必重新启动 Python（见 docs/addin.md）",
                          "(Windows only) keep Python running in the background so later clicks start faster "
                          "(see docs/addin.md)"))
    i.set_examples(EXAMPLES[0:1])
    i.set_defaults(func=run_install)
    u = actions.add_parser("uninstall", help=T("从 Excel 启动文件夹删除", "uninstall"),
                           description=T("从 Excel 的启动文件夹删除加载项；之后重启 Excel。",
                                         "Remove the add-in from Excel's startup folder; then restart Excel."))
    u.set_examples(EXAMPLES[3:4])
    u.set_defaults(func=run_uninstall)
    from gxsheet.excel.bundle import PLATFORMS, PYTHONS

    o = actions.add_parser("bundle", help=T("离线安装包：给不能上网的 Windows 电脑", "an offline install bundle"),
                           description=T("在能上网的电脑上生成离线安装包（gxsheet 及全部依赖的 wheel、install.cmd、"
                                         "安装说明），拷到不能上网的 Windows 电脑上双击 install.cmd 安装。"
                                         "依赖按目标平台和 Python 版本下载；详见 docs/addin.md。",
                                         "On a PC with internet, build an offline install bundle (wheels of gxsheet and "
                                         "every dependency, install.cmd, instructions); copy it to the Windows PC and "
                                         "double-click install.cmd. See docs/addin.md."))
    o.add_argument("-o", "--output", required=True, metavar="DIR",
                   help=T("安装包文件夹（必填；新的或空的）", "the bundle folder (required; new or empty)"))
    o.add_argument("--platform", choices=PLATFORMS, default=PLATFORMS[0],
                   help=T("目标平台（默认 %(default)s）", "target platform (default %(default)s)"))
    o.add_argument("--python", choices=PYTHONS, default="3.13",
                   help=T("目标电脑上 Python 的版本（默认 %(default)s）；wheel 按这个版本挑选，装时会核对",
                          "the target PC's Python version (default %(default)s); wheels are picked for it and checked "
                          "at install"))
    o.add_argument("--force", action="store_true",
                   help=T("替换已存在的安装包文件夹", "replace an existing bundle folder"))
    o.set_examples(EXAMPLES[2:3])
    o.set_defaults(func=run_bundle)
    p.set_examples(EXAMPLES)
    p.set_defaults(func=lambda _args: no_action(p, actions))


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def run_build(args: argparse.Namespace) -> int:
    from gxsheet.core.atomic import check_output
    from gxsheet.excel.xlam import build_xlam

    if Path(args.output).suffix.lower() != ".xlam":
        _say(f"{args.output}：加载项文件名应以 .xlam 结尾（Excel 按扩展名识别加载项）。")
        return 2
    out = check_output(args.output, force=args.force)
    build_xlam(out)
    print(f"已生成加载项：{out}")
    return 0


#: the xlwings.conf row that makes RunPython reuse one background Python (Windows only)
UDF_SERVER = "Use UDF Server"


def install_udf_server() -> Path:
    """Install like ``addin_install.install`` but with ``Use UDF Server`` switched on.

    The add-in's own ``xlwings.conf`` sheet wins over every other xlwings config (directory and
    user files), so the switch has to be built into the add-in; there is nothing a clerk could
    edit afterwards short of unhiding the add-in's sheet in the VBA editor.
    """
    from gxsheet.excel.install import check_xlwings, plan
    from gxsheet.excel.xlam import build_xlam

    steps = plan()  # AddinUnsupported off Windows and macOS
    if not steps.platform.startswith("win"):
        raise _Refused("--udf-server 只适用于 Windows 上的 Excel（xlwings 在 macOS 上没有后台服务）；"
                       "请去掉这个选项再安装。")
    check_xlwings()
    try:
        return build_xlam(steps.addin_path, None, config={**steps.config, UDF_SERVER: True})
    except PermissionError as exc:
        raise PermissionError(f"无法写入 {steps.addin_path}：请先退出 Excel 再安装加载项。") from exc


class _Refused(Exception):
    """A usage the command declines, with the Chinese reason."""


def run_install(args: argparse.Namespace) -> int:
    from gxsheet.excel.install import AddinUnsupported, NotReady, install

    try:
        path = install_udf_server() if getattr(args, "udf_server", False) else install()
    except (AddinUnsupported, NotReady, PermissionError, _Refused) as e:
        _say(str(e))
        return 2
    print(f"已安装 Excel 加载项：{path}\n请重新启动 Excel，功能区会出现“政务公开年报”选项卡。")
    if getattr(args, "udf_server", False):
        print("已开启 Use UDF Server：第一次点按钮会启动后台 Python，之后的点击会快很多。"
              "升级 gxsheet 后请重启 Excel。")
    return 0


def run_uninstall(_args: argparse.Namespace) -> int:
    from gxsheet.excel.install import AddinUnsupported, uninstall

    try:
        removed = uninstall()
    except (AddinUnsupported, PermissionError) as e:
        _say(str(e))
        return 2
    if removed is None:
        print("没有找到已安装的 gxsheet 加载项，无需卸载。")
    else:
        print(f"已卸载 Excel 加载项：{removed}\n请重新启动 Excel。")
    return 0


def run_bundle(args: argparse.Namespace) -> int:
    from gxsheet.excel.bundle import BundleError, build_bundle, windows_target

    try:
        target = windows_target(args.python, args.platform)
        print(f"正在为 Python {target.python}（{target.label}）准备离线安装包，需要联网下载依赖……", file=sys.stderr)
        bundle = build_bundle(Path(args.output), target, force=args.force)
    except BundleError as e:
        _say(str(e))
        return 2
    print(f"已生成离线安装包：{bundle.folder}\n"
          f"{len(bundle.wheels)} 个 wheel，共 {bundle.size / 1e6:.1f} MB。"
          "把整个文件夹拷到目标电脑，先装 Python，再双击 install.cmd（见其中的 安装说明.txt）。")
    return 0
