"""The web page's templates, stylesheet and script ship in the wheel (package data), not only in a checkout."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_package_data_covers_every_serve_file():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["gxsheet"]
    package = ROOT / "gxsheet"
    shipped = [p for p in (package / "serve").rglob("*") if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts]
    assert {p.name for p in shipped} >= {"base.html", "unit.html", "county.html", "app.css", "upload.js"}
    for p in shipped:
        rel = p.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(rel, g) for g in globs), f"{rel} is not in [tool.setuptools.package-data]"


def test_serve_extra_lists_what_the_web_page_imports():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = {r.split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in config["project"]["optional-dependencies"]["serve"]}
    assert {"starlette", "uvicorn", "jinja2", "python-multipart", "pebble"} <= extra
    assert "gxsheet[serve]" in config["project"]["optional-dependencies"]["test"]


def test_serve_run_checks_every_package_of_the_extra():
    """``serve run`` names what is missing from the [serve] extra before it starts (cli.serve.WEB_MODULES):
    that list is the extra again, by import name, so it must not drift from pyproject.toml — a package
    added to the extra but not there would reach a user as a traceback instead of the pip command."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from gxsheet.cli.serve import WEB_MODULES

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = {canonicalize_name(Requirement(r).name) for r in config["project"]["optional-dependencies"]["serve"]}
    assert {canonicalize_name(d) for d in WEB_MODULES.values()} == extra
