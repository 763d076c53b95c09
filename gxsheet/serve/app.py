"""The county collection web application: a town's page, the county's page and the JSON API.

Routes (``<token>`` is a unit's or the county's private link token)::

    GET  /u/<token>                      a town's page: template, upload, findings, earlier uploads
    POST /u/<token>/upload               upload from the page (multipart field ``file``)
    GET  /u/<token>/s/<id>               the page showing one earlier upload's findings
    GET  /u/<token>/template.xlsx        the blank template carrying the unit's 单位名称/层级/年度
    GET  /u/<token>/s/<id>/annotated.xlsx  the marked copy of an upload
    GET  /c/<token>                      the county's page: every unit's status
    GET  /c/<token>/unit/<id>            one unit's problem list and uploads
    GET  /c/<token>/s/<id>/file          an upload as it was received
    GET  /c/<token>/s/<id>/annotated.xlsx
    GET  /c/<token>/merge.xlsx           汇总 + 问题清单 of each unit's latest upload
    GET  /c/<token>/report.xlsx          the county-wide report (merge --report)
    POST /api/submissions                Bearer unit token, field ``file`` → validate --json (200/400)
    GET  /api/status                     Bearer county token → every unit's status
    GET  /api/merge.xlsx, /api/report.xlsx  Bearer county token

The application holds no report logic: uploads are read, checked and marked by :mod:`.work` in the
worker pool (the functions behind the command line), and stored by :mod:`.store`. It decides who
may see what: a unit's token shows that unit's uploads only (every lookup is by unit *and* id), the
county's token everything; a wrong or revoked token is 401, the wrong kind of token 403.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
import urllib.parse
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import jinja2
import markupsafe
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gxsheet import __version__
from gxsheet.core import sanitise
from gxsheet.core.errors import LoadError
from gxsheet.core.findings import SEVERITY_ZH
from gxsheet.core.limits import DEFAULT_LIMITS, Limits
from gxsheet.core.normalise import norm_name
from gxsheet.render.findings_report import display_rows, file_entry, findings_document
from gxsheet.serve import work
from gxsheet.serve.pool import Busy, JobFailed, JobTimeout, Workers
from gxsheet.serve.security import Guard
from gxsheet.serve.store import Store, Submission, Unit, display_name, keep_suffix

__all__ = ["Settings", "create_app"]

LOG = logging.getLogger("gxsheet.serve")

STATUS_ZH = {"ok": "通过", "warnings": "仅有疑问", "errors": "有错误", "unreadable": "无法读取",
             "pending": "检查中", "missing": "未提交"}
STATUS_EN = {"ok": "passed", "warnings": "warnings only", "errors": "errors", "unreadable": "unreadable",
             "pending": "being checked", "missing": "not submitted"}
#: multipart overhead allowed on top of the file itself
FORM_OVERHEAD = 64 * 1024
CHUNK = 256 * 1024


@dataclass(frozen=True)
class Settings:
    """How the server runs (``gxsheet serve run`` options)."""

    root: Path
    jobs: int | None = None
    timeout: float = 60.0  # seconds one upload may take to read, check and mark
    merge_timeout: float = 600.0
    limits: Limits = DEFAULT_LIMITS

    @property
    def max_upload(self) -> int:
        return self.limits.max_file_bytes


# ============================================================================ templates and responses
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("gxsheet.serve", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             finalize=_page_text)
    env.filters["when"] = _when
    env.filters["size"] = _size
    env.globals.update(STATUS_ZH=STATUS_ZH, SEVERITY_ZH=SEVERITY_ZH, version=__version__)
    return env


def _page_text(value: object) -> object:
    """Every ``{{ … }}`` of a page, before autoescaping: submission text (a 单位名称, a file name, a
    message quoting a cell) shows its controls and bidi/invisible marks escaped, as in a txt export
    (:func:`gxsheet.core.sanitise.txt`); markup the page itself made is left alone."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return sanitise.txt(value)
    return value


class _JSON(JSONResponse):
    """A JSON response under the one output rule (:func:`gxsheet.core.sanitise.json_dumps`): the data
    unchanged, but no raw control, bidi or invisible character in the bytes."""

    def render(self, content: Any) -> bytes:
        return sanitise.json_dumps(content, indent=None).encode("utf-8")


def _when(iso: str | None) -> str:
    """A stored UTC time as the county's clock shows it."""
    if not iso:
        return ""
    return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def _static() -> dict[str, tuple[bytes, str]]:
    """The page's CSS and script, read once from the package (never a path from a request)."""
    folder = resources.files("gxsheet.serve") / "static"
    types = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
    return {name: ((folder / name).read_bytes(), types[Path(name).suffix]) for name in ("app.css", "upload.js")}


def _attachment(name: str) -> str:
    """Content-Disposition for a download named ``name`` (RFC 6266/5987: UTF-8, nothing left raw)."""
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in name) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


def _api_error(status: int, kind: str, zh: str, en: str, lang: str = "zh", headers: dict[str, str] | None = None) -> _JSON:
    return _JSON({"error": {"kind": kind, "message": en if lang == "en" else zh}}, status_code=status,
                        headers=headers)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ============================================================================ the application
class Collection:
    """The running collection: store, workers, pages. One per server process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store.open(settings.root)
        self.workers = Workers(settings.jobs)
        self.env = _env()
        self.static = _static()
        settings_row = self.store.settings()
        self.county, self.year, self.edition = settings_row["county"], int(settings_row["year"]), settings_row["edition"]
        self._merge_lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ database calls, off the event loop
    async def db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await anyio.to_thread.run_sync(fn, *args)

    async def startup(self) -> None:
        """Clean half-received uploads, start the workers, check uploads a crash left unchecked."""
        removed = await self.db(self._clean)
        if removed:
            LOG.info("removed %d half-received file(s) from tmp/", removed)
        self.workers.start()
        pending: list[Submission] = await self.db(self.store.pending)
        for sub in pending:
            unit_id = sub.unit_id
            task = asyncio.create_task(self.check(sub, unit_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        if pending:
            LOG.info("checking %d upload(s) received before the last stop", len(pending))

    def _clean(self) -> int:
        n = self.store.clean_tmp()
        for folder in (self.store.cache, self.store.annotated_dir):
            for p in folder.rglob(".*.tmp"):  # atomic writes interrupted by a kill
                p.unlink(missing_ok=True)
                n += 1
        return n

    async def shutdown(self) -> None:
        for task in list(self._background):
            task.cancel()
        self.workers.stop()

    # ------------------------------------------------------------------ authentication
    def _lookup(self, token: str) -> Unit | None:
        return self.store.unit_for_token(token)

    async def unit_from(self, token: str, role: str) -> tuple[Unit | None, int]:
        """(unit, 0) for a live token of ``role``; (None, 401) unknown/revoked; (None, 403) the other role."""
        unit = await self.db(self._lookup, token)
        if unit is None:
            return None, 401
        if unit.role != role:
            return None, 403
        return unit, 0

    @staticmethod
    def bearer(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    # ------------------------------------------------------------------ receiving and checking an upload
    async def receive(self, request: Request, unit: Unit, via: str) -> Submission | Response:
        """Store the upload in ``request`` for ``unit`` and check it; a Response when there is nothing to check."""
        lang = request.query_params.get("lang", "zh")
        try:
            self.workers.check_capacity()
        except Busy:
            return _api_error(503, "busy", "服务器正忙，请稍后再上传。", "the server is busy; upload again in a moment.", lang,
                              headers={"Retry-After": "10"})
        form = await request.form(max_files=1, max_fields=10)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                return _api_error(400, "no-file", "请求中没有名为 file 的文件。", "no file in the form field 'file'.", lang)
            name = display_name(upload.filename)
            suffix = keep_suffix(name)
            sha, size, tmp = await anyio.to_thread.run_sync(self._spool, upload)
        finally:
            await form.close()
        sub_id = await self.db(self._record, unit, tmp, sha, size, name, suffix, via)
        sub: Submission = await self.db(self.store.get_submission, sub_id)
        return await self.check(sub, unit.id)

    def _spool(self, upload: UploadFile) -> tuple[str, int, Path]:
        """Copy the received part into tmp/ while hashing it, flushed to disk."""
        fd, name = tempfile.mkstemp(prefix="upload-", dir=self.store.tmp)
        h = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                upload.file.seek(0)
                while chunk := upload.file.read(CHUNK):
                    size += len(chunk)
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return h.hexdigest(), size, Path(name)

    def _record(self, unit: Unit, tmp: Path, sha: str, size: int, name: str, suffix: str, via: str) -> int:
        self.store.add_blob(tmp, sha, suffix)
        return self.store.add_submission(unit, sha256=sha, size=size, filename=name, suffix=suffix, via=via)

    async def check(self, sub: Submission, unit_id: int) -> Submission:
        """Read, check and mark a stored upload in the pool (one at a time per unit) and record the result."""
        stored = self.store.blob_path(sub.sha256, sub.suffix)
        annotated = self.store.annotated_path(sub.sha256)
        annotated_ok = False
        try:
            result = await self.workers.run(work.check_upload, str(stored), sub.filename, str(annotated),
                                            self.settings.limits, timeout=self.settings.timeout, key=unit_id)
            entries, annotated_ok = result["entries"], bool(result["annotated"])
        except JobTimeout:
            entries = _failed(sub.filename, "timeout",
                              f"{sub.filename}：文件读取和检查超过 {self.settings.timeout:.0f} 秒仍未完成，已停止；"
                              "请在 Excel/WPS 中打开后另存为新的 .xlsx 再上传。",
                              f"{sub.filename}: reading and checking took longer than {self.settings.timeout:.0f} s and was "
                              "stopped; open it in Excel/WPS, save it as a new .xlsx and upload again.")
        except JobFailed as e:
            LOG.warning("checking upload %d failed: %s", sub.id, e)
            entries = _failed(sub.filename, "internal",
                              f"{sub.filename}：检查时发生内部错误，请稍后重新上传；如仍出错请联系管理员。",
                              f"{sub.filename}: internal error while checking; upload again later or contact the administrator.")
        await self.db(self._finish, sub.id, entries, annotated_ok)
        return await self.db(self.store.get_submission, sub.id)

    def _finish(self, sub_id: int, entries: dict[str, Any], annotated: bool) -> None:
        self.store.finish_submission(sub_id, entries, annotated=annotated)

    # ------------------------------------------------------------------ merge
    async def merge(self) -> tuple[Path, Path] | None:
        """(merge.xlsx, report.xlsx) of each unit's latest upload, cached by what went in; None when nothing to merge.

        Raises Busy, JobTimeout or JobFailed when it cannot be made now."""
        units: list[Unit] = await self.db(self.store.units)
        latest: dict[int, Submission] = await self.db(self.store.latest)
        items = []
        for u in units:
            sub = latest.get(u.id)
            if u.is_county or sub is None or sub.status == "pending":
                continue
            stored = self.store.blob_path(sub.sha256, sub.suffix)
            shown = _file_name(u.name) + (sub.suffix or ".xlsx")
            received = dt.datetime.fromisoformat(sub.received_at).timestamp()
            items.append((str(stored), shown, received))
        if not items:
            return None
        county, year = self.county, self.year
        order = [u.name for u in units if not u.is_county]  # the merge lists the units in the county's order
        key = hashlib.sha256(json.dumps([__version__, county, year, items, order],
                                        ensure_ascii=False).encode()).hexdigest()[:32]
        merge_out = self.store.cache / f"merge-{key}.xlsx"
        report_out = self.store.cache / f"report-{key}.xlsx"
        async with self._merge_lock:
            if not (merge_out.exists() and report_out.exists()):
                self.workers.check_capacity()
                summary = await self.workers.run(work.make_merge, items, str(self.store.tmp), str(merge_out),
                                                 str(report_out), year=year, name=county, limits=self.settings.limits,
                                                 order=order, timeout=self.settings.merge_timeout, key="merge")
                if not summary.get("merged"):
                    return None
                await self.db(self._prune, {merge_out.name, report_out.name})
        return merge_out, report_out

    def _prune(self, keep: set[str]) -> None:
        """Drop merges of earlier states (they are derived: made again from the uploads when asked)."""
        for p in self.store.cache.glob("*.xlsx"):
            if p.name.startswith(("merge-", "report-")) and p.name not in keep:
                p.unlink(missing_ok=True)

    async def template(self, unit: Unit) -> Path:
        edition, year = self.edition, self.year
        meta = {"unit_name": unit.name, "level": unit.level, "year": year}
        key = hashlib.sha256(json.dumps([__version__, edition, meta], ensure_ascii=False).encode()).hexdigest()[:32]
        out = self.store.cache / f"template-{key}.xlsx"
        if not out.exists():
            self.workers.check_capacity()
            await self.workers.run(work.make_template, edition, str(out), meta, timeout=self.settings.timeout,
                                   key=("template", unit.id))
        return out

    # ------------------------------------------------------------------ views
    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("county", self.county)
        context.setdefault("year", self.year)
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status)

    def denied(self, status: int) -> HTMLResponse:
        """The page for 401 (unknown or revoked link), 403 (the other kind of link), 404 (not this unit's), 503."""
        return self.page("denied.html", status=status, wrong_kind=status == 403, missing=status == 404,
                         failed=status == 503)

    def status_rows(self) -> list[dict[str, Any]]:
        """Every unit (not the county) with its latest upload and status, in the county's order."""
        latest = self.store.latest()
        counts = self.store.counts()
        rows = []
        for u in self.store.units():
            if u.is_county:
                continue
            sub = latest.get(u.id)
            rows.append({"unit": u, "latest": sub, "status": sub.status if sub else "missing",
                         "uploads": counts.get(u.id, 0), "mismatch": mismatches(sub, u, self.year)})
        return rows


def _failed(name: str, kind: str, zh: str, en: str) -> dict[str, Any]:
    """The stored entries of an upload the worker could not finish: the shape ``validate --json`` gives
    an unreadable file (:func:`~gxsheet.render.findings_report.file_entry`), in each language."""
    error = LoadError(name, kind, zh, en)
    return {lang: file_entry(name, error=error, lang=lang) for lang in work.LANGS}


def _file_name(unit_name: str) -> str:
    """A unit's name as a file name inside the merge folder (its problem list names the file)."""
    cleaned = "".join("_" if ch in '/\\:*?"<>|' or not ch.isprintable() else ch for ch in unit_name).strip(". ")
    return cleaned[:100] or "unit"


def _entry(sub: Submission | None, lang: str = "zh") -> dict[str, Any] | None:
    """The validate --json file entry stored with an upload, in ``lang``."""
    if sub is None or sub.report is None:
        return None
    return sub.report.get(lang) or sub.report.get("zh")


def mismatches(sub: Submission | None, unit: Unit, year_expected: int, lang: str = "zh") -> list[dict[str, Any]]:
    """Where an upload's own 单位名称 or 报告年度 differs from the link's unit or the collection's
    year: likely the wrong file (last year's report, a neighbour's), though the workbook itself
    may pass. The town sees it beside its findings; the county beside the unit's status and in
    /api/status, so a "passed" town with another year's report is not counted as done unseen."""
    entry = _entry(sub)
    if not entry or entry.get("status") in ("unreadable", None):
        return []
    out = []
    name, year = entry.get("unit_name"), entry.get("year")
    if name and norm_name(name) != norm_name(unit.name):  # 东城 街道 is 东城街道, as the merge matches them
        out.append({"field": "unit_name", "found": str(name).strip(), "expected": unit.name,
                    "short": "单位名称不符" if lang == "zh" else "unit name differs",
                    "message": f"工作簿中的单位名称是“{str(name).strip()}”，与本链接对应的单位“{unit.name}”不同；请确认没有传错文件。"
                    if lang == "zh" else f"the workbook names the unit \"{str(name).strip()}\", not \"{unit.name}\" "
                    "as this link does; check that the right file was uploaded."})
    if year and str(year) != str(year_expected):
        out.append({"field": "year", "found": year, "expected": year_expected,
                    "short": f"年度不符（{year}年）" if lang == "zh" else f"year differs ({year})",
                    "message": f"工作簿中的报告年度是{year}年，本次收集的是{year_expected}年度；请确认没有传错文件。"
                    if lang == "zh" else f"the workbook reports on {year}; this collection is for {year_expected}; "
                    "check that the right file was uploaded."})
    return out


def _view(sub: Submission | None, unit: Unit | None = None, year_expected: int | None = None) -> dict[str, Any] | None:
    """What a page shows of one upload: status, rows for a person, notes on name and year."""
    entry = _entry(sub)
    if sub is None:
        return None
    view: dict[str, Any] = {"sub": sub, "entry": entry, "rows": [], "notes": []}
    if entry and entry.get("findings"):
        view["rows"] = display_rows(entry["findings"], "zh")
    if unit is not None and year_expected is not None:
        view["notes"] = [m["message"] for m in mismatches(sub, unit, year_expected)]
    return view


# ============================================================================ routes
def create_app(settings: Settings) -> Starlette:
    """The ASGI application for the data folder ``settings.root``."""
    app_state = Collection(settings)

    @asynccontextmanager
    async def lifespan(_: Starlette):  # type: ignore[no-untyped-def]
        await app_state.startup()
        try:
            yield
        finally:
            await app_state.shutdown()

    C = app_state

    async def home(request: Request) -> Response:
        return C.page("home.html")

    async def static(request: Request) -> Response:
        item = C.static.get(request.path_params["name"])
        if item is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(item[0], media_type=item[1], headers={"cache-control": "no-cache"})

    # ---------------------------------------------------------------- a town's page
    async def unit_page(request: Request) -> Response:
        unit, denied = await C.unit_from(request.path_params["token"], "unit")
        if unit is None:
            return C.denied(denied)
        subs: list[Submission] = await C.db(C.store.submissions, unit)
        shown = subs[0] if subs else None
        if "sub_id" in request.path_params:
            shown = next((s for s in subs if s.id == request.path_params["sub_id"]), None)
            if shown is None:
                return C.denied(404)
        return C.page("unit.html", unit=unit, token=request.path_params["token"], subs=subs,
                      view=_view(shown, unit, C.year), edition=C.edition,
                      max_mb=round(settings.max_upload / 1024 / 1024))

    async def unit_upload(request: Request) -> Response:
        token = request.path_params["token"]
        unit, denied = await C.unit_from(token, "unit")
        wants_json = "application/json" in request.headers.get("accept", "")
        if unit is None:
            if wants_json:
                return _api_error(denied, "token", "链接无效或已停用。", "invalid or revoked link.")
            return C.denied(denied)
        result = await C.receive(request, unit, "page")
        if isinstance(result, Response):
            return result
        target = f"/u/{token}/s/{result.id}"
        if wants_json:
            return _JSON({"submission": result.id, "status": result.status, "page": target})
        return RedirectResponse(target, status_code=303)

    async def unit_template(request: Request) -> Response:
        unit, denied = await C.unit_from(request.path_params["token"], "unit")
        if unit is None:
            return C.denied(denied)
        try:
            path = await C.template(unit)
        except (Busy, JobFailed, JobTimeout) as e:
            LOG.warning("template failed: %s", type(e).__name__)
            return C.denied(503)
        return FileResponse(path, media_type=XLSX, headers={
            "content-disposition": _attachment(f"{unit.name}-{C.year}年度政府信息公开工作年度报告.xlsx")})

    async def unit_annotated(request: Request) -> Response:
        unit, denied = await C.unit_from(request.path_params["token"], "unit")
        if unit is None:
            return C.denied(denied)
        sub = await C.db(C.store.submission, unit, request.path_params["sub_id"])
        return _annotated_response(sub)

    def _annotated_response(sub: Submission | None) -> Response:
        if sub is None or not sub.annotated:
            return C.denied(404)
        stem = Path(sub.filename).stem or "年报"
        return FileResponse(C.store.annotated_path(sub.sha256), media_type=XLSX,
                            headers={"content-disposition": _attachment(f"{stem}.校验.xlsx")})

    # ---------------------------------------------------------------- the county's page
    async def county_page(request: Request) -> Response:
        unit, denied = await C.unit_from(request.path_params["token"], "county")
        if unit is None:
            return C.denied(denied)
        rows = await C.db(C.status_rows)
        tally = {k: sum(1 for r in rows if r["status"] == k) for k in STATUS_ZH}
        tally["mismatch"] = sum(1 for r in rows if r["mismatch"])
        return C.page("county.html", token=request.path_params["token"], rows=rows, tally=tally,
                      edition=C.edition, nothing=request.query_params.get("empty") == "1")

    async def county_unit(request: Request) -> Response:
        county, denied = await C.unit_from(request.path_params["token"], "county")
        if county is None:
            return C.denied(denied)
        units: list[Unit] = await C.db(C.store.units)
        unit = next((u for u in units if u.id == request.path_params["unit_id"] and not u.is_county), None)
        if unit is None:
            return C.denied(404)
        subs = await C.db(C.store.submissions, unit)
        return C.page("county_unit.html", token=request.path_params["token"], unit=unit, subs=subs,
                      view=_view(subs[0] if subs else None, unit, C.year))

    async def county_file(request: Request) -> Response:
        county, denied = await C.unit_from(request.path_params["token"], "county")
        if county is None:
            return C.denied(denied)
        sub: Submission | None = await C.db(C.store.get_submission, request.path_params["sub_id"])
        if sub is None:
            return C.denied(404)
        return FileResponse(C.store.blob_path(sub.sha256, sub.suffix), media_type="application/octet-stream",
                            headers={"content-disposition": _attachment(sub.filename)})

    async def county_annotated(request: Request) -> Response:
        county, denied = await C.unit_from(request.path_params["token"], "county")
        if county is None:
            return C.denied(denied)
        return _annotated_response(await C.db(C.store.get_submission, request.path_params["sub_id"]))

    async def county_download(request: Request) -> Response:
        token = request.path_params["token"]
        county, denied = await C.unit_from(token, "county")
        if county is None:
            return C.denied(denied)
        if request.path_params["what"] not in ("merge", "report"):
            return C.denied(404)
        try:
            paths = await C.merge()
        except (Busy, JobFailed, JobTimeout) as e:
            LOG.warning("merge failed: %s", type(e).__name__)
            return C.denied(503)
        if paths is None:
            return RedirectResponse(f"/c/{token}?empty=1", status_code=303)
        return _merge_response(paths, request.path_params["what"])

    def _merge_response(paths: tuple[Path, Path], what: str) -> Response:
        county, year = C.county, C.year
        if what == "merge":
            return FileResponse(paths[0], media_type=XLSX,
                                headers={"content-disposition": _attachment(f"{county}{year}年度年报汇总表.xlsx")})
        return FileResponse(paths[1], media_type=XLSX,
                            headers={"content-disposition": _attachment(f"{county}{year}年度政府信息公开工作年度报告（汇总）.xlsx")})

    # ---------------------------------------------------------------- the JSON API
    async def api_submit(request: Request) -> Response:
        lang = "en" if request.query_params.get("lang") == "en" else "zh"
        unit, denied = await C.unit_from(C.bearer(request), "unit")
        if unit is None:
            if denied == 403:
                return _api_error(403, "forbidden", "汇总链接不能上传年报，请使用单位的上传链接。",
                                  "the county's token cannot upload; use the unit's token.", lang)
            return _api_error(401, "token", "缺少或无效的令牌（Authorization: Bearer <单位令牌>）。",
                              "missing or invalid token (Authorization: Bearer <unit token>).", lang,
                              headers={"WWW-Authenticate": "Bearer"})
        result = await C.receive(request, unit, "api")
        if isinstance(result, Response):
            return result
        entry = _entry(result, lang)
        assert entry is not None
        doc = findings_document([entry])
        return _JSON(doc, status_code=400 if entry["status"] == "unreadable" else 200,
                            headers={"X-Submission": str(result.id)})

    async def _county_api(request: Request) -> tuple[Unit | None, Response | None, str]:
        lang = "en" if request.query_params.get("lang") == "en" else "zh"
        county, denied = await C.unit_from(C.bearer(request), "county")
        if county is None:
            if denied == 403:
                return None, _api_error(403, "forbidden", "单位令牌不能查看汇总，请使用汇总令牌。",
                                        "a unit's token cannot see the county's data; use the county token.", lang), lang
            return None, _api_error(401, "token", "缺少或无效的令牌（Authorization: Bearer <汇总令牌>）。",
                                    "missing or invalid token (Authorization: Bearer <county token>).", lang,
                                    headers={"WWW-Authenticate": "Bearer"}), lang
        return county, None, lang

    async def api_status(request: Request) -> Response:
        county, error, lang = await _county_api(request)
        if error is not None:
            return error
        rows = await C.db(C.status_rows)
        names = STATUS_EN if lang == "en" else STATUS_ZH
        units = []
        for r in rows:
            sub: Submission | None = r["latest"]
            units.append({
                "name": r["unit"].name, "level": r["unit"].level, "status": r["status"],
                "status_text": names[r["status"]], "uploads": r["uploads"],
                "mismatch": [{k: m[k] for k in ("field", "found", "expected", "message")}
                             for m in mismatches(sub, r["unit"], C.year, lang)],
                "latest": None if sub is None else {
                    "submission": sub.id, "file": sub.filename, "sha256": sub.sha256, "size": sub.size,
                    "received_at": sub.received_at, "errors": sub.errors, "warnings": sub.warnings},
            })
        summary = {k: sum(1 for u in units if u["status"] == k) for k in STATUS_ZH}
        return _JSON({"county": C.county, "year": C.year, "edition": C.edition,
                             "units": units, "summary": summary})

    async def api_download(request: Request) -> Response:
        county, error, lang = await _county_api(request)
        if error is not None:
            return error
        if request.path_params["what"] not in ("merge", "report"):
            return _api_error(404, "not-found", "没有这个下载。", "no such download.", lang)
        try:
            paths = await C.merge()
        except (Busy, JobFailed, JobTimeout) as e:
            LOG.warning("merge failed: %s", type(e).__name__)
            return _api_error(503, "merge-failed", "汇总失败（服务器忙或汇总超时），请稍后再试。",
                              "the merge failed (server busy or timed out); try again later.", lang)
        if paths is None:
            return _api_error(409, "nothing-to-merge", "还没有可汇总的工作簿：没有单位上传过可读取的年报。",
                              "nothing to merge yet: no unit has uploaded a readable report.", lang)
        return _merge_response(paths, request.path_params["what"])

    routes = [
        Route("/", home),
        Route("/static/{name}", static),
        Route("/u/{token}", unit_page),
        Route("/u/{token}/upload", unit_upload, methods=["POST"]),
        Route("/u/{token}/template.xlsx", unit_template),
        Route("/u/{token}/s/{sub_id:int}", unit_page),
        Route("/u/{token}/s/{sub_id:int}/annotated.xlsx", unit_annotated),
        Route("/c/{token}", county_page),
        Route("/c/{token}/unit/{unit_id:int}", county_unit),
        Route("/c/{token}/s/{sub_id:int}/file", county_file),
        Route("/c/{token}/s/{sub_id:int}/annotated.xlsx", county_annotated),
        Route("/c/{token}/{what:str}.xlsx", county_download),
        Route("/api/submissions", api_submit, methods=["POST"]),
        Route("/api/status", api_status),
        Route("/api/{what:str}.xlsx", api_download),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.collection = app_state
    app.add_middleware(Guard, max_body=settings.max_upload + FORM_OVERHEAD)
    return app
