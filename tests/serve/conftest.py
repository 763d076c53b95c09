"""A real ``gxsheet serve`` on a loopback port: a collection made by ``serve init``, a server run by ``serve run``.

The server is a separate process (``python -m gxsheet serve run``) in its own session, so a test
can kill it like a power cut would (SIGKILL) and everything it started is cleaned up afterwards.
Requests go through urllib3 (multipart encoding, real sockets); nothing is faked.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
urllib3 = pytest.importorskip("urllib3")

from gxsheet.cli.app import main as gxsheet_main  # noqa: E402
from gxsheet.render.samples import write_sample  # noqa: E402
from gxsheet.serve.units import read_links  # noqa: E402

COUNTY = "某某县"
YEAR = 2024
TOWNS = [("城关镇", "镇"), ("河口乡", "乡"), ("东城街道", "街道"), ("县教育局", "县级部门")]
ROOT = Path(__file__).resolve().parents[2]
BAD_INPUTS = ROOT / "tests" / "bad_inputs"
#: a request is given this long before the test fails (bounded: nothing here waits forever)
REQUEST_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Collection:
    """A data folder made by ``gxsheet serve init``, with the tokens read back from 上传链接.xlsx."""

    root: Path
    tokens: dict[str, str]  # unit name (and the county's name) → token
    county_token: str

    def token(self, unit: str) -> str:
        return self.tokens[unit]


def make_collection(root: Path, towns: list[tuple[str, str]] = TOWNS) -> Collection:
    units = root.parent / f"{root.name}-units.txt"
    units.write_text("名称，层级\n" + "".join(f"{n}, {lv}\n" for n, lv in towns), encoding="utf-8")
    assert gxsheet_main(["serve", "init", str(root), "--county", COUNTY, "--year", str(YEAR), "--units", str(units)]) == 0
    _, rows = read_links(root / "上传链接.xlsx")
    tokens = {name: link.rsplit("/", 1)[1] for name, _, link in rows}
    county = next(link for name, _, link in rows if name == COUNTY)
    return Collection(root, tokens, county.rsplit("/", 1)[1])


@dataclass
class Server:
    """A running ``gxsheet serve run`` process on 127.0.0.1."""

    root: Path
    port: int
    proc: subprocess.Popen
    log: Path
    http: urllib3.PoolManager = field(default_factory=lambda: urllib3.PoolManager(
        maxsize=64, timeout=urllib3.Timeout(total=REQUEST_TIMEOUT), retries=False))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, *, token: str | None = None, **kw) -> urllib3.BaseHTTPResponse:
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request("GET", self.url(path), headers=headers, **kw)

    def upload(self, path: str, name: str, data: bytes, *, token: str | None = None,
               headers: dict[str, str] | None = None, field_name: str = "file") -> urllib3.BaseHTTPResponse:
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        return self.http.request("POST", self.url(path), fields={field_name: (name, data, "application/octet-stream")},
                                 headers=h)

    def submit(self, token: str | None, name: str, data: bytes) -> urllib3.BaseHTTPResponse:
        return self.upload("/api/submissions", name, data, token=token)

    def children(self) -> set[int]:
        """Every process descended from the server (its workers and their fork server)."""
        parents: dict[int, int] = {}
        for p in Path("/proc").iterdir():
            if p.name.isdigit():
                try:
                    stat = (p / "stat").read_text()
                except OSError:
                    continue
                parents[int(p.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        out: set[int] = set()
        frontier = {self.proc.pid}
        while frontier:
            frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - out
            out |= frontier
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything left of its session (workers of a killed server)
        except (ProcessLookupError, PermissionError):
            pass
        self.http.clear()

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(root: Path, *args: str, log_name: str = "server.log", tls: bool = False) -> Server:
    """Start ``gxsheet serve run ROOT`` on a free loopback port and wait (bounded) until it answers
    (with ``tls``, until its port accepts connections: the test then speaks HTTPS itself)."""
    port = free_port()
    log = root.parent / f"{root.name}-{log_name}"
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gxsheet", "serve", "run", str(root), "--port", str(port), *args],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=root.parent)
    server = Server(root, port, proc, log)
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"server exited ({proc.returncode}):\n{server.log_text()}")
        try:
            if tls:
                socket.create_connection(("127.0.0.1", port), timeout=2.0).close()
                return server
            if server.http.request("GET", server.url("/"), timeout=2.0).status == 200:
                return server
        except (urllib3.exceptions.HTTPError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"server did not answer within 90 s:\n{server.log_text()}")
        time.sleep(0.1)


def workbook(tmp: Path, name: str, unit: str, *, broken: bool = False, seed: int = 0, year: int = YEAR,
             period: bool = True) -> Path:
    """A filled 2021-edition report for ``unit``; ``broken`` puts text and a negative number in 表二,
    ``period=False`` leaves the sample's 统计期限 (another year's: a warning)."""
    from gxsheet.core.spec import load_spec

    keys = list(load_spec("2021").cells)
    values = {keys[0]: "无", keys[3]: -5} if broken else {}
    meta: dict[str, object] = {"unit_name": unit, "year": year}
    if period:
        meta.update(period_start=dt.date(year, 1, 1), period_end=dt.date(year, 12, 31))
    return write_sample(tmp / name, "2021", seed=seed, values=values, meta=meta)


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Collection:
    return make_collection(tmp_path_factory.mktemp("serve") / "data")


@pytest.fixture(scope="module")
def server(collection) -> Server:
    s = start_server(collection.root, "--limit", "max_file_mb=1")
    yield s
    s.stop()
