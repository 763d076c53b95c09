"""The JSON API and the pages over real HTTP: status codes, the validate --json document, token isolation,
revoking and reissuing links, logs without tokens, what is stored."""

from __future__ import annotations

import hashlib
import io
import json
import re
import sqlite3
import stat
import subprocess
import sys

import jsonschema
import openpyxl
import pytest
from conftest import BAD_INPUTS, COUNTY, Server, workbook

from gxsheet.cli.app import main as gxsheet_main
from gxsheet.core.spec import schemas_dir
from gxsheet.serve.store import DB_NAME

FINDINGS_SCHEMA = json.loads((schemas_dir() / "findings.schema.json").read_text(encoding="utf-8"))


def _json(r) -> dict:
    return json.loads(r.data.decode("utf-8"))


def test_submit_status_codes(server: Server, collection, tmp_path):
    good = workbook(tmp_path, "good.xlsx", "城关镇").read_bytes()
    town, county = collection.token("城关镇"), collection.county_token
    assert server.submit(None, "good.xlsx", good).status == 401
    r = server.submit("not-a-token", "good.xlsx", good)
    assert r.status == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert "message" in _json(r)["error"]
    assert server.submit(county, "good.xlsx", good).status == 403
    assert server.upload("/api/submissions", "good.xlsx", good, token=town, field_name="other").status == 400

    r = server.submit(town, "good.xlsx", good)
    assert r.status == 200, r.data
    doc = _json(r)
    jsonschema.validate(doc, FINDINGS_SCHEMA)
    assert doc["files"][0]["file"] == "good.xlsx" and doc["files"][0]["status"] == "ok"

    r = server.submit(town, "encrypted.xlsx", (BAD_INPUTS / "encrypted.xlsx").read_bytes())
    assert r.status == 400
    doc = _json(r)
    jsonschema.validate(doc, FINDINGS_SCHEMA)
    entry = doc["files"][0]
    assert entry["status"] == "unreadable" and entry["error"]["kind"] == "encrypted"
    message = entry["error"]["message"]
    assert message.startswith("encrypted.xlsx：") and "\n" not in message  # the upload's name, not the stored path
    assert str(collection.root) not in r.data.decode("utf-8")


def test_upload_over_the_cap_is_refused_before_reading(server: Server, collection):
    town = collection.token("城关镇")
    before = _count_submissions(collection.root)
    big = b"PK\x03\x04" + b"\0" * (1024 * 1024 + 100 * 1024)  # past the cap and the form overhead allowed
    r = server.submit(town, "big.xlsx", big)
    assert r.status == 413
    assert "MB" in _json(r)["error"]["message"]
    # a body without Content-Length (chunked) is cut off at the cap too
    boundary = "gxsheetboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.xlsx\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    chunks = [head] + [b"\0" * 65536] * 20 + [f"\r\n--{boundary}--\r\n".encode()]
    r = server.http.request("POST", server.url("/api/submissions"), body=iter(chunks), chunked=True,
                            headers={"Authorization": f"Bearer {town}",
                                     "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status == 413
    assert _count_submissions(collection.root) == before


def test_api_json_is_what_the_command_line_prints(server: Server, collection, tmp_path, capsys):
    path = workbook(tmp_path, "broken.xlsx", "河口乡", broken=True)
    r = server.submit(collection.token("河口乡"), "broken.xlsx", path.read_bytes())
    assert r.status == 200
    web = _json(r)
    assert web["files"][0]["status"] == "errors"
    capsys.readouterr()
    assert gxsheet_main(["validate", "--json", str(path)]) == 1
    cli = json.loads(capsys.readouterr().out)
    cli["files"][0]["file"] = "broken.xlsx"
    assert web == cli
    cells = {c for f in web["files"][0]["findings"] for c in f["cells"]}
    assert {"表二!B4", "表二!B5"} <= cells
    r = server.upload("/api/submissions?lang=en", "broken.xlsx", path.read_bytes(), token=collection.token("河口乡"))
    assert any("not a number" in f["message"] or "negative" in f["message"] for f in _json(r)["files"][0]["findings"])


def test_county_endpoints(server: Server, collection, tmp_path):
    town, county = collection.token("东城街道"), collection.county_token
    for path in ("/api/status", "/api/merge.xlsx", "/api/report.xlsx"):
        assert server.get(path).status == 401
        assert server.get(path, token="x" * 43).status == 401
        assert server.get(path, token=town).status == 403
    r = server.get("/api/status", token=county)
    assert r.status == 200
    doc = _json(r)
    assert doc["county"] == COUNTY and doc["year"] == 2024
    names = [u["name"] for u in doc["units"]]
    assert names == ["城关镇", "河口乡", "东城街道", "县教育局"]
    server.submit(town, "dc.xlsx", workbook(tmp_path, "dc.xlsx", "东城街道").read_bytes())
    units = {u["name"]: u for u in _json(server.get("/api/status", token=county))["units"]}
    assert units["东城街道"]["status"] == "ok" and units["东城街道"]["latest"]["file"] == "dc.xlsx"
    assert units["县教育局"]["status"] == "missing" and units["县教育局"]["latest"] is None
    r = server.get("/api/merge.xlsx", token=county)
    assert r.status == 200 and r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    assert {"汇总", "问题清单"} <= set(wb.sheetnames)
    r = server.get("/api/report.xlsx", token=county)
    assert r.status == 200
    openpyxl.load_workbook(io.BytesIO(r.data))
    assert server.get("/api/other.xlsx", token=county).status == 404


def test_merge_before_any_upload_is_409(tmp_path):
    from conftest import make_collection, start_server

    col = make_collection(tmp_path / "empty")
    s = start_server(col.root, "--jobs", "1")
    try:
        r = s.get("/api/merge.xlsx", token=col.county_token)
        assert r.status == 409 and _json(r)["error"]["kind"] == "nothing-to-merge"
        r = s.get(f"/c/{col.county_token}/merge.xlsx", redirect=False)
        assert r.status == 303
    finally:
        s.stop()


def test_a_town_sees_only_its_own(server: Server, collection, tmp_path):
    a, b = collection.token("城关镇"), collection.token("县教育局")
    r = server.upload(f"/u/{a}/upload", "城关镇-秘密.xlsx", workbook(tmp_path, "a.xlsx", "城关镇", broken=True).read_bytes(),
                      headers={"Accept": "application/json"})
    assert r.status == 200
    sub_a = _json(r)["submission"]
    page_b = server.get(f"/u/{b}").data.decode("utf-8")
    assert "城关镇-秘密" not in page_b and "县教育局" in page_b
    assert server.get(f"/u/{b}/s/{sub_a}").status == 404
    assert server.get(f"/u/{b}/s/{sub_a}/annotated.xlsx").status == 404
    assert server.get(f"/u/{a}/s/{sub_a}/annotated.xlsx").status == 200
    # a town's token opens no county page, the county's token no town page
    assert server.get(f"/c/{a}").status == 403
    assert server.get(f"/c/{a}/s/{sub_a}/file").status == 403
    assert server.get(f"/u/{collection.county_token}").status == 403
    assert server.get("/u/not-a-token").status == 401
    # the county sees it
    assert "城关镇-秘密" in server.get(f"/c/{collection.county_token}/unit/1").data.decode("utf-8")
    r = server.get(f"/c/{collection.county_token}/s/{sub_a}/file")
    assert r.status == 200 and r.data[:2] == b"PK"


def test_pages_send_no_referrer_and_escape_names(server: Server, collection, tmp_path):
    token = collection.token("城关镇")
    name = '<img src=x onerror=alert(1)>"\'.xlsx'
    r = server.upload(f"/u/{token}/upload", name, workbook(tmp_path, "x.xlsx", "<b>城关镇</b>").read_bytes(),
                      headers={"Accept": "application/json"})
    page = server.get(_json(r)["page"])
    text = page.data.decode("utf-8")
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "<b>城关镇</b>" not in text and "&lt;b&gt;城关镇&lt;/b&gt;" in text  # the workbook's own unit name, escaped
    for path in ("/", f"/u/{token}", "/api/status", "/static/app.css"):
        headers = server.get(path).headers
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert "server" not in {k.lower() for k in server.get("/").headers}
    assert server.get("/static/..%2Fstore.py").status == 404
    assert server.get("/static/../store.py").status == 404


def test_uploads_are_kept_by_content_and_never_overwritten(server: Server, collection, tmp_path):
    token = collection.token("县教育局")
    data = workbook(tmp_path, "j.xlsx", "县教育局").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    ids = [_json(server.upload(f"/u/{token}/upload", f"第{i}次.xlsx", data, headers={"Accept": "application/json"}))
           ["submission"] for i in range(2)]
    stored = collection.root / "uploads" / sha[:2] / f"{sha}.xlsx"
    assert stored.read_bytes() == data
    assert not stored.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    with sqlite3.connect(f"file:{collection.root / DB_NAME}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT sha256, filename, status FROM submissions WHERE id IN (?, ?)", ids).fetchall()
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert sorted(rows) == [(sha, "第0次.xlsx", "ok"), (sha, "第1次.xlsx", "ok")]
    # a name that looks like a path is only a name: the file is stored by its hash, nowhere else
    evil = data + b"\0"  # other content, so a new stored file
    r = server.upload(f"/u/{token}/upload", "../../上级目录/evil.xlsx", evil, headers={"Accept": "application/json"})
    assert r.status == 200
    evil_sha = hashlib.sha256(evil).hexdigest()
    assert (collection.root / "uploads" / evil_sha[:2] / f"{evil_sha}.xlsx").read_bytes() == evil
    assert not (collection.root.parent / "上级目录").exists() and not list(collection.root.parent.rglob("evil.xlsx"))
    assert "evil.xlsx" in server.get(_json(r)["page"]).data.decode("utf-8")


def test_links_are_revoked_and_reissued(server: Server, collection, tmp_path):
    old = collection.token("河口乡")
    assert server.get(f"/u/{old}").status == 200
    out = subprocess.run([sys.executable, "-m", "gxsheet", "serve", "link", str(collection.root), "河口乡"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    new = out.stdout.strip().split("\t")[-1].rsplit("/", 1)[1]
    assert new != old and len(new) >= 43  # 256 random bits, URL-safe
    assert server.get(f"/u/{old}").status == 401
    assert server.submit(old, "a.xlsx", b"x").status == 401
    assert server.get(f"/u/{new}").status == 200
    assert "河口乡" in server.get(f"/u/{new}").data.decode("utf-8")
    from gxsheet.serve.units import read_links

    rows = {n: link for n, _, link in read_links(collection.root / "上传链接.xlsx")[1]}
    assert rows["河口乡"].endswith(new) and rows["城关镇"].endswith(collection.token("城关镇"))
    collection.tokens["河口乡"] = new
    out = subprocess.run([sys.executable, "-m", "gxsheet", "serve", "link", str(collection.root), "河口乡", "--revoke"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert server.get(f"/u/{new}").status == 401
    out = subprocess.run([sys.executable, "-m", "gxsheet", "serve", "link", str(collection.root), "没有这个单位"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "没有名为" in out.stderr and "Traceback" not in out.stderr
    # the next link works again (and the database keeps only hashes)
    out = subprocess.run([sys.executable, "-m", "gxsheet", "serve", "link", str(collection.root), "河口乡"],
                         capture_output=True, text=True, timeout=60)
    collection.tokens["河口乡"] = out.stdout.strip().split("\t")[-1].rsplit("/", 1)[1]
    db = (collection.root / DB_NAME).read_bytes() + (collection.root / f"{DB_NAME}-wal").read_bytes()
    assert collection.tokens["河口乡"].encode() not in db


def test_tokens_never_reach_the_log(server: Server, collection):
    text = server.log_text()
    assert "/u/…" in text and "/api/submissions" in text  # requests are logged ...
    for token in collection.tokens.values():
        assert token not in text  # ... without their tokens


def test_init_refuses_bad_lists(tmp_path):
    units = tmp_path / "units.txt"
    units.write_text("城关镇, 镇\n河口乡, 村\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "gxsheet", "serve", "init", str(tmp_path / "d"), "--county", COUNTY,
                        "--year", "2024", "--units", str(units)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "第2行" in r.stderr and "村" in r.stderr and "Traceback" not in r.stderr
    units.write_text("城关镇, 镇\n城关镇, 镇\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "gxsheet", "serve", "init", str(tmp_path / "d"), "--county", COUNTY,
                        "--year", "2024", "--units", str(units)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "重复" in r.stderr


def test_init_reads_a_spreadsheet_and_gbk_text(tmp_path):
    from gxsheet.serve.units import read_units

    wb = openpyxl.Workbook()
    wb.active.append(["单位名称", "单位层级"])
    wb.active.append(["城关镇", "镇"])
    wb.active.append(["县教育局", "县级部门"])
    wb.save(tmp_path / "u.xlsx")
    assert read_units(tmp_path / "u.xlsx", "2021", county=COUNTY) == [("城关镇", "镇"), ("县教育局", "县级部门")]
    (tmp_path / "u.txt").write_bytes("城关镇，镇\r\n# 注释\r\n\r\n县教育局\t县级部门\r\n".encode("gb18030"))
    assert read_units(tmp_path / "u.txt", "2021", county=COUNTY) == [("城关镇", "镇"), ("县教育局", "县级部门")]


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                           ("0.0.0.0", False), ("192.168.1.10", False)])
def test_a_lan_address_without_tls_gets_a_warning(host, loopback):
    from gxsheet.serve.server import is_loopback, lan_warning

    assert is_loopback(host) is loopback
    assert (lan_warning(host, tls=False) is None) is loopback
    assert lan_warning(host, tls=True) is None
    if not loopback:
        assert "HTTPS" in lan_warning(host, tls=False) and "\n" not in lan_warning(host, tls=False)


def test_https_with_certfile_and_keyfile(tmp_path):
    """``--certfile/--keyfile``: the same pages over TLS (a self-signed certificate made here)."""
    import datetime as dt
    import ipaddress
    import ssl

    from conftest import make_collection, start_server
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    col = make_collection(tmp_path / "tls")
    server = start_server(col.root, "--jobs", "1", "--certfile", str(certfile), "--keyfile", str(keyfile), tls=True)
    try:
        ctx = ssl.create_default_context(cafile=str(certfile))
        import urllib3

        with urllib3.PoolManager(ssl_context=ctx, retries=False, timeout=60) as https:
            r = https.request("GET", f"https://127.0.0.1:{server.port}/u/{col.token('城关镇')}")
            assert r.status == 200 and "城关镇" in r.data.decode("utf-8")
            assert r.headers["Referrer-Policy"] == "no-referrer"
        assert "https://127.0.0.1" in server.log_text() and "警告" not in server.log_text()
    finally:
        server.stop()


def _count_submissions(root) -> int:
    with sqlite3.connect(f"file:{root / DB_NAME}?mode=ro", uri=True) as con:
        return con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]


def test_submission_text_reaches_pages_and_json_only_as_text(tmp_path):
    """The one output rule on the web: a 单位名称 holding U+0001, an ESC sequence, a bidi override and
    a C1 control shows escaped on the town's and the county's pages and in the JSON (its data
    unchanged), and the county's downloads hold no raw control either."""
    import re
    import zipfile

    from conftest import make_collection, start_server
    from test_hostile import make_corpus

    from gxsheet.core.sanitise import CONTROL, INVISIBLE

    unit = "城关镇\x01\x1b[31m\u202e红\x85色"

    unsafe = re.compile(f"[{CONTROL}{INVISIBLE}]")
    col = make_collection(tmp_path / "data", [("城关镇", "镇")])
    server = start_server(col.root)
    try:
        town = col.token("城关镇")
        name = "城关\u202eslx.xlsx"
        r = server.submit(town, name, make_corpus.zip_bytes(make_corpus.with_text(make_corpus.filled_report(), "meta.unit_name", unit)))
        assert r.status == 200, r.data
        text = r.data.decode("utf-8")
        assert not unsafe.search(text), text
        entry = _json(r)["files"][0]
        assert entry["unit_name"] == unit  # the data, as JSON escapes
        assert entry["file"] == "城关slx.xlsx"  # an upload's name keeps no format characters (store.display_name)
        pages = [server.get(f"/u/{town}").data.decode("utf-8"), server.get(f"/c/{col.county_token}").data.decode("utf-8")]
        unit_page = re.search(rf"/c/{col.county_token}/unit/(\d+)", pages[1])
        assert unit_page, pages[1]
        pages.append(server.get(unit_page[0]).data.decode("utf-8"))
        for page in pages:
            assert not [c for c in unsafe.findall(page) if c not in "\t\n\r"], page
        shown = "城关镇\\x01\\x1b[31m\\u202e红\\x85色"
        assert shown in pages[0] and "城关slx.xlsx" in pages[0] and shown in pages[2]
        for what in ("merge", "report"):
            r = server.get(f"/api/{what}.xlsx", token=col.county_token)
            assert r.status == 200
            with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
                xml = "".join(zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith((".xml", ".rels")))
            assert not unsafe.search(xml) and not re.search(r"_x00(0[0-8]|1[0-9A-F]|7F)_", xml, re.I), what
    finally:
        server.stop()


def test_the_county_sees_a_wrong_year_or_unit_name(tmp_path):
    """Issue 19: another year's report, or a neighbour's, passes validation; the town's page warned
    but the county's page and /api/status said plain 通过/ok."""
    from conftest import make_collection, start_server

    col = make_collection(tmp_path / "data")
    s = start_server(col.root, "--jobs", "1")
    try:
        assert s.submit(col.token("城关镇"), "old.xlsx", workbook(tmp_path, "old.xlsx", "城关镇", year=2023).read_bytes()).status == 200
        assert s.submit(col.token("河口乡"), "n.xlsx", workbook(tmp_path, "n.xlsx", "城关镇").read_bytes()).status == 200
        # the same name written with a full-width space inside and after it: not another unit
        assert s.submit(col.token("东城街道"), "d.xlsx", workbook(tmp_path, "d.xlsx", "东城\u3000街道 ").read_bytes()).status == 200

        units = {u["name"]: u for u in _json(s.get("/api/status", token=col.county_token))["units"]}
        assert units["城关镇"]["status"] == "ok"
        assert [(m["field"], m["found"], m["expected"]) for m in units["城关镇"]["mismatch"]] == [("year", 2023, 2024)]
        assert "2023" in units["城关镇"]["mismatch"][0]["message"]
        assert [(m["field"], m["found"], m["expected"]) for m in units["河口乡"]["mismatch"]] == [("unit_name", "城关镇", "河口乡")]
        assert units["东城街道"]["mismatch"] == [] and units["县教育局"]["mismatch"] == []
        en = {u["name"]: u for u in _json(s.get("/api/status?lang=en", token=col.county_token))["units"]}
        assert "2023" in en["城关镇"]["mismatch"][0]["message"] and "collection" in en["城关镇"]["mismatch"][0]["message"]

        page = s.get(f"/c/{col.county_token}").data.decode("utf-8")
        rows = {m.group(1): m.group(0) for m in re.finditer(r'<tr data-unit="([^"]+)".*?</tr>', page, re.S)}
        assert 'data-mismatch="year"' in rows["城关镇"] and "年度不符（2023年）" in rows["城关镇"]
        assert 'data-mismatch="unit_name"' in rows["河口乡"] and "单位名称不符" in rows["河口乡"]
        assert 'data-mismatch=""' in rows["东城街道"] and "不符" not in rows["东城街道"]
        assert "2 个单位最近上传的工作簿中单位名称或报告年度与本次收集不符" in page

        link = re.search(r'href="(/c/[^"]+/unit/\d+)"', rows["城关镇"]).group(1)
        problems = s.get(link).data.decode("utf-8")
        assert "工作簿中的报告年度是2023年，本次收集的是2024年度" in problems
    finally:
        s.stop()
