"""LoadError: a submitted file that cannot (or must not) be read, with its one-line message.

Every reader raises it; every face (command line, add-in, web page) shows its message and moves on.
The messages name the file, what is wrong and what to do, in Chinese and English, and are forced
onto one line: names inside a file (zip members, sheets) come from the submitter, and a crafted name
must not be able to forge a second line in a terminal or a log.
"""

from __future__ import annotations

from typing import Any

from gxsheet.core.sanitise import terminal

__all__ = ["LoadError", "one_line"]

_MESSAGES: dict[str, tuple[str, str]] = {
    "empty": (
        "{path}：文件是空的（0 字节），请重新导出或另存后再提交。",
        "{path}: the file is empty (0 bytes); re-export or re-save it and submit again.",
    ),
    "not-a-file": (
        "{path}：{what_zh}，请检查文件路径后重试。",
        "{path}: {what_en}; check the path and try again.",
    ),
    "directory": (
        "{path}：这是一个文件夹，不是 Excel 文件，请选择文件夹中的 .xlsx 文件。",
        "{path}: this is a folder, not an Excel file; pick the .xlsx files inside it.",
    ),
    "symlink-loop": (
        "{path}：符号链接形成循环，无法打开，请改为直接提供实际的 .xlsx 文件。",
        "{path}: symbolic link loop, cannot be opened; point to the actual .xlsx file instead.",
    ),
    "unreadable": (
        "{path}：无法读取该文件（{detail}），请检查文件权限或关闭占用该文件的程序后重试。",
        (
            "{path}: cannot read the file ({detail}); check its permissions or close the program "
            "holding it and try again."
        ),
    ),
    "xls": (
        "{path}：这是旧版 Excel 97-2003 (.xls) 文件，请在 Excel/WPS 中另存为 .xlsx 后再提交。",
        "{path}: this is an old Excel 97-2003 (.xls) file; open it in Excel/WPS, save it as .xlsx and submit again.",
    ),
    "encrypted": (
        "{path}：文件设置了打开密码（已加密），请在 Excel/WPS 中取消密码后另存为 .xlsx 再提交。",
        (
            "{path}: the file is password-protected (encrypted); remove the password in Excel/WPS, "
            "save it as .xlsx and submit again."
        ),
    ),
    "not-xlsx": (
        "{path}：{what_zh}，不是 Excel 工作簿 (.xlsx)，{advice_zh}",
        "{path}: {what_en}, not an Excel workbook (.xlsx); {advice_en}",
    ),
    "corrupt-zip": (
        "{path}：文件已损坏（压缩包结构错误：{detail}），请在 Excel/WPS 中打开修复后另存为 .xlsx 再提交。",
        (
            "{path}: the file is damaged (broken zip container: {detail}); open and repair it in "
            "Excel/WPS, save it as .xlsx and submit again."
        ),
    ),
    "corrupt": (
        "{path}：文件内容已损坏（{detail}），请在 Excel/WPS 中打开后重新另存为 .xlsx 再提交。",
        (
            "{path}: the workbook content is damaged ({detail}); open it in Excel/WPS, save it "
            "again as .xlsx and resubmit."
        ),
    ),
    "zip-bomb": (
        (
            "{path}：文件内部数据解压后异常膨胀（{detail}），疑似压缩炸弹，已拒绝读取；如确为正常报表，"
            "请在 Excel/WPS 中另存为新的 .xlsx 后再提交。"
        ),
        (
            "{path}: the file inflates abnormally when decompressed ({detail}), a suspected zip "
            "bomb, so it was not read; if it is a genuine report, save it as a new .xlsx in "
            "Excel/WPS and resubmit."
        ),
    ),
    "too-many-members": (
        "{path}：文件内部部件过多（{detail}），已拒绝读取；请删除多余的图片、对象后另存为 .xlsx 再提交。",
        (
            "{path}: the file has too many internal parts ({detail}) and was not read; delete "
            "surplus pictures/objects, save it as .xlsx and resubmit."
        ),
    ),
    "too-large": (
        "{path}：文件过大（{detail}），请删除多余的图片、空行或无关工作表后再提交。",
        (
            "{path}: the file is too large ({detail}); remove surplus pictures, empty rows or "
            "unrelated sheets and resubmit."
        ),
    ),
    "xml-entities": (
        (
            "{path}：文件内含 XML 实体声明 (DOCTYPE，位于 {detail})，Excel 不会生成这种内容，出于安全"
            "考虑已拒绝读取；请在 Excel/WPS 中另存为新的 .xlsx 后再提交。"
        ),
        (
            "{path}: the file contains an XML DOCTYPE/entity declaration (in {detail}), which Excel "
            "never writes, so it was refused for safety; save it as a new .xlsx in Excel/WPS and "
            "resubmit."
        ),
    ),
    "too-many-cells": (
        "{path}：{detail_zh}，已拒绝读取；请删除与报表无关的内容后再提交。",
        "{path}: {detail_en}, so it was not read; delete content unrelated to the report and resubmit.",
    ),
    "sheet-too-large": (
        (
            "{path}：工作表「{sheet}」的 {detail} 有内容，超出了读取范围（上限 {max_rows} 行 × {max_cols} 列），"
            "请删除表格以外的这些内容后另存再提交。"
        ),
        (
            "{path}: sheet '{sheet}' has content at {detail}, beyond what is read (limit {max_rows} rows x "
            "{max_cols} columns); delete that content outside the table, save and resubmit."
        ),
    ),
    "too-slow": (
        (
            "{path}：读取超过了时间上限（{seconds} 秒 CPU 时间），已停止读取；文件可能过大或结构异常，"
            "请在 Excel/WPS（或 Word）中打开后另存为新文件，删除多余内容后再提交。"
        ),
        (
            "{path}: reading it took longer than the limit ({seconds} s of CPU time) and was stopped; the file "
            "may be too large or oddly built: open it in Excel/WPS (or Word), save it as a new file without "
            "surplus content and resubmit."
        ),
    ),
    "too-much-memory": (
        (
            "{path}：读取所需内存超过了上限（{mb} MB），已停止读取；文件可能过大或结构异常，"
            "请在 Excel/WPS（或 Word）中打开后另存为新文件，删除多余内容后再提交。"
        ),
        (
            "{path}: reading it needed more memory than the limit ({mb} MB) and was stopped; the file may be "
            "too large or oddly built: open it in Excel/WPS (or Word), save it as a new file without surplus "
            "content and resubmit."
        ),
    ),
    "internal": (
        "{path}：读取时发生内部错误（{detail}），其余文件照常处理；请把该文件发给维护者。",
        "{path}: internal error while reading it ({detail}); the other files go on. Please send this file to the maintainers.",
    ),
}


class LoadError(Exception):
    """A submitted workbook that cannot (or must not) be read.

    ``kind`` is a short machine id for tallies and tests; ``message_zh``/``message_en`` are
    one-line messages for the person who submitted the file: which file, what is wrong,
    what to do.  ``str(e)`` is the Chinese message because that is what users read.
    """

    #: the traceback of a reader that crashed on the file (kind 'internal'), for ``--debug``
    trace: str = ""

    def __init__(self, path: str, kind: str, message_zh: str, message_en: str, detail: str = "") -> None:
        super().__init__(message_zh)
        self.path = path
        self.kind = kind
        self.message_zh = message_zh
        self.message_en = message_en
        self.detail = detail

    def __str__(self) -> str:
        return self.message_zh

    @classmethod
    def make(cls, path: str, kind: str, detail: str = "", **params: Any) -> LoadError:
        """Build the error for ``kind`` from the message table (for readers built on this).

        ``detail`` is a short technical note embedded in the messages; some kinds take
        extra fields (``sheet``, ``max_rows``, ``max_cols`` for 'sheet-too-large';
        ``detail_zh``/``detail_en`` for 'too-many-cells').
        """
        return load_error(path, kind, detail, **params)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self.path, self.kind, self.message_zh, self.message_en, self.detail),
        )


#: Longest technical detail quoted in a message: member and sheet names come from the file.
_MAX_DETAIL = 200


def one_line(text: str) -> str:
    """``text`` with control, line-separator, bidi and invisible characters escaped (``\\x0a``)."""
    return terminal(text)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def load_error(path: str, kind: str, detail: str = "", **params: Any) -> LoadError:
    """Build a LoadError from the message table; ``detail`` is embedded where it helps.

    Names inside the file (zip members, sheets) and the path itself may carry anything, so
    the messages are forced onto one line and quoted details are capped: one clear line is
    the promise, and a crafted name must not be able to forge a second one.
    """
    zh, en = _MESSAGES[kind]
    detail = _short(detail)
    fields = {"path": path, "detail": detail, **{k: _short(v) if isinstance(v, str) else v for k, v in params.items()}}
    fields.setdefault("detail_zh", detail)
    fields.setdefault("detail_en", detail)
    return LoadError(path, kind, one_line(zh.format(**fields)), one_line(en.format(**fields)), one_line(detail))


