"""A town and the county in a real browser: Debian's chromium and chromium-driver through selenium, headless.

A town uploads a broken workbook, sees its findings with the right cells, downloads the marked copy,
uploads the fixed workbook and sees 通过; the county's page shows the status change and its merge
downloads and opens. Screenshots of each page go to the test's folder (and to
``$GXSHEET_SCREENSHOTS`` when set: that is how ``docs/serve/`` is made).
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from pathlib import Path

import openpyxl
import pytest
from conftest import TOWNS, start_server, workbook

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")]
WAIT = 90  # seconds any one page may take to show what is expected (bounded, never a wall-clock assertion)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from conftest import make_collection

    base = tmp_path_factory.mktemp("browser")
    col = make_collection(base / "data")
    server = start_server(col.root)
    yield col, server
    server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    profile = tmp_path_factory.mktemp("chromium-profile")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-default-apps", "--disable-extensions", "--lang=zh-CN",
                f"--user-data-dir={profile}", "--window-size=1280,900"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False,
                                              "safebrowsing.enabled": False})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.downloads = downloads  # type: ignore[attr-defined]
    yield driver
    driver.quit()


def shoot(driver, tmp_path: Path, name: str) -> Path:
    """A screenshot of the whole page, beyond the window (Chrome DevTools' captureBeyondViewport)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 4000), "scale": 1}})
    out = tmp_path / f"{name}.png"
    out.write_bytes(base64.b64decode(shot["data"]))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = os.environ.get("GXSHEET_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, Path(target) / out.name)
    return out


def wait_for_download(folder: Path, suffix: str, known: set[str]) -> Path:
    """The next finished download in ``folder`` (bounded)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.name.endswith(suffix) and p.name not in known]
        if done and not any(p.name.endswith(".crdownload") for p in folder.iterdir()):
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} download in {folder}: {[p.name for p in folder.iterdir()]}")


def upload(driver, path: Path) -> None:
    """Choose the file in the page's file input, as a clerk does; the page posts it and follows to the result."""
    before = driver.current_url
    driver.find_element(By.ID, "file").send_keys(str(path))
    WebDriverWait(driver, WAIT).until(lambda d: d.current_url != before and "/s/" in d.current_url)
    WebDriverWait(driver, WAIT).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#result[data-status]")))


def test_a_town_fixes_its_report_and_the_county_sees_it(site, browser, tmp_path):
    col, server = site
    town = TOWNS[0][0]
    token = col.token(town)
    broken = workbook(tmp_path, f"{town}-年报.xlsx", town, broken=True)
    fixed = workbook(tmp_path, f"{town}-年报（改）.xlsx", town)

    # the county before anyone uploaded
    browser.get(server.url(f"/c/{col.county_token}"))
    assert browser.find_element(By.CSS_SELECTOR, f"tr[data-unit='{town}']").get_attribute("data-status") == "missing"

    # the town's page: its name and year, the template carries them
    browser.get(server.url(f"/u/{token}"))
    assert browser.find_element(By.ID, "unit-name").text == town
    assert "2024" in browser.find_element(By.TAG_NAME, "body").text
    shoot(browser, tmp_path, "serve-town-empty")
    known = {p.name for p in browser.downloads.iterdir()}
    browser.find_element(By.ID, "template").click()
    template = wait_for_download(browser.downloads, ".xlsx", known)
    ws = openpyxl.load_workbook(template)["基本信息"]
    filled = {str(c.value) for row in ws.iter_rows() for c in row if c.value is not None}
    assert {town, "镇", "2024"} <= filled

    # a broken workbook: findings with the right cells, the status, the marked copy
    upload(browser, broken)
    result = browser.find_element(By.ID, "result")
    assert result.get_attribute("data-status") == "errors"
    assert "有错误" in result.text
    rows = browser.find_elements(By.CSS_SELECTOR, "#findings tbody tr")
    by_cell = {r.find_element(By.CSS_SELECTOR, "td.cells").text: r.text for r in rows}
    assert any("表二!B4" in cells and "不是数字" in text for cells, text in by_cell.items())
    assert any("表二!B5" in cells and "负数" in text for cells, text in by_cell.items())
    shoot(browser, tmp_path, "serve-town-errors")
    known = {p.name for p in browser.downloads.iterdir()}
    browser.find_element(By.ID, "annotated").click()
    marked = wait_for_download(browser.downloads, ".xlsx", known)
    assert marked.name.endswith(".校验.xlsx")
    wb = openpyxl.load_workbook(marked)
    assert "校验结果" in wb.sheetnames
    assert wb["表二"]["B4"].comment is not None and wb["表二"]["B5"].comment is not None

    # the county sees the errors
    browser.get(server.url(f"/c/{col.county_token}"))
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-unit='{town}']")
    assert row.get_attribute("data-status") == "errors" and "有错误" in row.text

    # the fixed workbook passes; both uploads are listed
    browser.get(server.url(f"/u/{token}"))
    upload(browser, fixed)
    assert browser.find_element(By.ID, "result").get_attribute("data-status") == "ok"
    assert "通过" in browser.find_element(By.ID, "result").text
    history = browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")
    assert len(history) == 2 and fixed.name in history[0].text and broken.name in history[1].text
    shoot(browser, tmp_path, "serve-town-passed")

    # a second town with warnings only (its 统计期限 is not the report year's), a third with errors
    other, third = TOWNS[1][0], TOWNS[2][0]
    browser.get(server.url(f"/u/{col.token(other)}"))
    upload(browser, workbook(tmp_path, "河口乡.xlsx", other, period=False))
    assert browser.find_element(By.ID, "result").get_attribute("data-status") == "warnings"
    browser.get(server.url(f"/u/{col.token(third)}"))
    upload(browser, workbook(tmp_path, "东城.xlsx", third, broken=True))

    browser.get(server.url(f"/c/{col.county_token}"))
    statuses = {r.get_attribute("data-unit"): r.get_attribute("data-status")
                for r in browser.find_elements(By.CSS_SELECTOR, "#units tbody tr")}
    assert statuses[town] == "ok" and statuses[third] == "errors" and statuses[TOWNS[3][0]] == "missing"
    assert statuses[other] == "warnings"
    shoot(browser, tmp_path, "serve-county")
    known = {p.name for p in browser.downloads.iterdir()}
    browser.find_element(By.ID, "merge").click()
    merged = wait_for_download(browser.downloads, ".xlsx", known)
    wb = openpyxl.load_workbook(merged)
    assert {"汇总", "问题清单"} <= set(wb.sheetnames)
    names = {str(c.value) for row in wb["汇总"].iter_rows() for c in row if c.value is not None}
    assert {town, other, third} <= names
    known = {p.name for p in browser.downloads.iterdir()}
    browser.find_element(By.ID, "report").click()
    openpyxl.load_workbook(wait_for_download(browser.downloads, ".xlsx", known))

    # the county's problem list of one town
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-unit='{third}']")
    row.find_element(By.LINK_TEXT, "问题清单").click()
    WebDriverWait(browser, WAIT).until(EC.presence_of_element_located((By.ID, "findings")))
    assert "表二!B4" in browser.find_element(By.ID, "findings").text
    shoot(browser, tmp_path, "serve-county-unit")

    # last year's report passes the checks, but the county sees it is another year's
    late = TOWNS[3][0]
    browser.get(server.url(f"/u/{col.token(late)}"))
    upload(browser, workbook(tmp_path, "去年.xlsx", late, year=2023))
    assert browser.find_element(By.ID, "result").get_attribute("data-status") == "ok"
    assert "报告年度是2023年" in browser.find_element(By.ID, "result").text
    browser.get(server.url(f"/c/{col.county_token}"))
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-unit='{late}']")
    assert row.get_attribute("data-status") == "ok" and row.get_attribute("data-mismatch") == "year"
    assert "年度不符（2023年）" in row.find_element(By.CSS_SELECTOR, "td.status").text
    assert "1 个单位" in browser.find_element(By.ID, "mismatch-note").text


def test_pages_work_without_javascript_too(site, tmp_path):
    """The upload form posts by itself (no script): the server answers with the result page."""
    col, server = site
    token = col.token(TOWNS[3][0])
    data = workbook(tmp_path, "j.xlsx", TOWNS[3][0]).read_bytes()
    r = server.upload(f"/u/{token}/upload", "j.xlsx", data)
    assert r.status == 303
    page = server.get(r.headers["Location"])
    assert page.status == 200 and "通过" in page.data.decode("utf-8")


def test_an_unknown_link_is_explained(site, browser):
    """A revoked or unknown link shows the Chinese explanation, not an error page."""
    _, server = site
    browser.get(server.url("/u/" + "A" * 43))
    assert "链接无效或已停用" in browser.find_element(By.TAG_NAME, "h1").text
