"""An ordinary install, as users do it: a wheel, in a fresh venv, every subcommand outside the repo.

CI otherwise only ever runs an editable install, where the source tree is on the path and data
files are found beside the package whether or not the wheel ships them. Here the wheel is built
(``pip wheel . --no-deps``), installed non-editable into a new venv with its dependencies from
the package index, and each command runs from a folder that is not the repository, so nothing
can come from the source tree.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "examples" / "seeds"
pytestmark = pytest.mark.slow

TIMEOUT = 900


def _run(cmd: list[str], cwd: Path, *, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode in ok, f"{cmd}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the venv's gxsheet executable, a work folder outside the repo)."""
    root = tmp_path_factory.mktemp("wheel")
    wheels = root / "dist"
    src = root / "src"  # build from a clean copy: no stale build/ or egg-info of the developer's tree
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache"))
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(wheels)], src)
    wheel = next(wheels.glob("gxsheet-*.whl"))
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    py = env_dir / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "-q", str(wheel)], root)
    work = root / "work"
    work.mkdir()
    shutil.rmtree(src)  # the source copy is gone: the install must stand alone
    return env_dir / "bin" / "gxsheet", work


def test_installed_package_is_the_wheel_not_the_source(installed):
    exe, work = installed
    py = exe.with_name("python")
    where = _run([str(py), "-c", "import gxsheet, json; print(gxsheet.__file__)"], work).stdout.strip()
    assert "site-packages" in where and not where.startswith(str(REPO)), where
    _run([str(py), "-m", "pip", "show", "-f", "gxsheet"], work)
    assert "Editable project location" not in _run([str(py), "-m", "pip", "show", "gxsheet"], work).stdout


def test_every_subcommand_from_outside_the_repo(installed):
    exe, work = installed
    gx = str(exe)
    assert _run([gx, "--version"], work).stdout.strip().endswith("0.1.0")
    # template (data shipped in the wheel), then validate it filled by import
    _run([gx, "template", "--edition", "2021", "-o", "空白.xlsx"], work)
    blank = _run([gx, "validate", "空白.xlsx", "--json"], work, ok=(1,))
    assert json.loads(blank.stdout)["files"][0]["edition"] == "2021"
    seed = next(SEED.glob("*.txt"))
    shutil.copy(seed, work / "年报.txt")
    _run([gx, "import", "年报.txt", "-o", "导入.xlsx"], work, ok=(0, 1))
    assert (work / "导入.xlsx").stat().st_size > 0
    _run([gx, "validate", "导入.xlsx", "--annotate", "标注.xlsx"], work, ok=(0, 1))
    assert (work / "标注.xlsx").stat().st_size > 0
    for fmt in ("txt", "docx", "json"):
        _run([gx, "export", "导入.xlsx", "--to", fmt, "-o", f"导出.{fmt}", "--force"], work, ok=(0, 1))
        assert (work / f"导出.{fmt}").stat().st_size > 0
    towns = work / "收件箱"
    towns.mkdir()
    shutil.copy(work / "导入.xlsx", towns / "a.xlsx")
    _run([gx, "merge", str(towns), "-o", "汇总.xlsx", "--report", "全县.xlsx"], work, ok=(0, 1))
    assert (work / "汇总.xlsx").stat().st_size > 0 and (work / "全县.xlsx").stat().st_size > 0
    _run([gx, "config"], work)
    _serve(gx, work)
    _run([gx, "addin", "build", "-o", "gxsheet.xlam"], work)
    assert (work / "gxsheet.xlam").stat().st_size > 0
    _run([str(exe.with_name("python")), "-m", "gxsheet", "validate", "空白.xlsx"], work, ok=(1,))


def _serve(gx: str, work: Path) -> None:
    """``serve init`` (no extra needed) and ``serve run``: without the [serve] extra one line says what
    to install; with it, the pages (templates and static files shipped in the wheel) answer on a
    loopback port; the server is stopped whatever happens."""
    from openpyxl import load_workbook

    (work / "单位.txt").write_text("甲镇, 镇\n乙局, 县级部门\n", encoding="utf-8")
    _run([gx, "serve", "init", "收集", "--county", "某县", "--year", "2021", "--units", "单位.txt"], work)
    rows = list(load_workbook(work / "收集" / "上传链接.xlsx", read_only=True).worksheets[0].values)
    links = [str(v) for row in rows for v in row if isinstance(v, str) and v.startswith("http://127.0.0.1")]
    # without the [serve] extra (a plain `pip install gxsheet`): one line that says what to install
    bare = _run([gx, "serve", "run", "收集"], work, ok=(2,))
    assert bare.stderr.strip().count("\n") == 0 and 'pip install "gxsheet[serve]"' in bare.stderr, bare.stderr
    wheel = next((work.parent / "dist").glob("gxsheet-*.whl"))
    _run([str(Path(gx).with_name("python")), "-m", "pip", "install", "-q", f"{wheel}[serve]"], work)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([gx, "serve", "run", "收集", "--port", str(port)], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "gxsheet serve run did not answer"
                time.sleep(0.5)
        assert links
        for link in links:
            path = link.split(":", 2)[2].split("/", 1)[1]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=30) as r:
                assert r.status == 200 and "<html" in r.read().decode("utf-8").lower()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def _contents(wheel: Path) -> dict[str, bytes]:
    """A wheel's files by name, RECORD aside (its hashes are checked separately)."""
    import zipfile

    with zipfile.ZipFile(wheel) as z:
        return {n: z.read(n) for n in z.namelist() if not n.endswith(".dist-info/RECORD")}


def _record_holds(wheel: Path) -> None:
    """RECORD lists every file of the wheel with its true SHA-256 and size (PEP 427)."""
    import base64
    import csv
    import hashlib
    import io
    import zipfile

    with zipfile.ZipFile(wheel) as z:
        record_name = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
        rows = list(csv.reader(io.StringIO(z.read(record_name).decode("utf-8"))))
        assert {r[0] for r in rows} == set(z.namelist())
        for name, digest, size in rows:
            if name == record_name:
                assert (digest, size) == ("", "")
                continue
            data = z.read(name)
            want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (want, len(data)), name


def test_an_installed_gxsheet_packs_itself_for_the_offline_bundle(installed, tmp_path):
    """Issue 17: from an ordinary install the bundle fetched gxsheet==0.1.0 from the index (not there,
    or not this build); it packs the installed gxsheet back into the wheel it was installed from."""
    exe, work = installed
    py = exe.with_name("python")
    out = tmp_path / "own"
    out.mkdir()
    made = Path(_run([str(py), "-c", "import sys; from pathlib import Path; from gxsheet.excel.bundle import gxsheet_wheel; "
                      "print(gxsheet_wheel(Path(sys.argv[1])))", str(out)], work).stdout.strip())
    original = next((work.parent / "dist").glob("gxsheet-*.whl"))
    assert made.name == original.name
    assert _contents(made) == _contents(original)
    _record_holds(made)
    target = tmp_path / "target"  # pip takes it as a wheel
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target), str(made)], work)
    assert (target / "gxsheet" / "workbook_templates").is_dir()


@pytest.mark.network
def test_the_offline_bundle_from_an_ordinary_install(installed, tmp_path):
    """``gxsheet addin bundle`` run by a wheel-installed gxsheet: the bundle carries that gxsheet."""
    exe, work = installed
    out = tmp_path / "bundle"
    _run([str(exe), "addin", "bundle", "-o", str(out), "--python", "3.11"], work)
    original = next((work.parent / "dist").glob("gxsheet-*.whl"))
    [shipped] = (out / "wheelhouse").glob("gxsheet-*.whl")
    assert _contents(shipped) == _contents(original)
    assert json.loads((out / "bundle.json").read_text(encoding="utf-8"))["gxsheet"] == "0.1.0"
