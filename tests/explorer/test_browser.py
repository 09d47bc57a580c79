"""The explorer in a real browser: Debian's Chromium, headless, driven by Playwright.

Loads the page, drags a slider and lets go, waits for the numbers and charts to change, checks
a number shown against an API run of the same scenario and seed, downloads the scenario and
validates it, downloads the board pack, and checks that no request left 127.0.0.1. With
``EXPLORER_SCREENSHOTS=DIR`` it saves the screenshots docs/explorer.md shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sim import api
from sim.explorer import Explorer, create_app, free_port
from sim.scenario import load_scenario
from tests.explorer.conftest import ADAPTIVE, LA_HOSTED, ROOT

REPLICATES = 60
SEED = 20260401
BLOCK_SIZE = 25
"""The app runs blocks of 500 on two workers; here 60 replicates in blocks of 25 are three
blocks on two workers, and the numbers shown must be those of a run with that block size."""
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WAIT_MS = 240_000
"""Generous: the first screen compiles nothing here, but the test machines are shared."""

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
                                reason="no chromium binary on this machine (.ci/run installs "
                                       "Debian's chromium)")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The explorer on a free port of 127.0.0.1, served from a thread of this process, its
    ensembles on a warm pool of two worker processes, as the app's."""
    from werkzeug.serving import make_server

    explorer = Explorer([LA_HOSTED, ADAPTIVE], REPLICATES, SEED, workers=2,
                        block_size=BLOCK_SIZE)
    explorer.start()
    port = free_port()
    httpd = make_server("127.0.0.1", port, create_app(explorer).server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        explorer.close()


def _shots() -> Path | None:
    folder = os.environ.get("EXPLORER_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _value(page: object, kpi: str) -> str:
    return page.get_attribute(f"#kpi-{kpi}", "data-value")  # type: ignore[attr-defined]


def test_explorer_in_headless_chromium(server: str, tmp_path: Path) -> None:
    """Drag the grant slider to £0: the numbers change, match an API run of the saved file
    with the same seed, the saved file validates, the board pack of the screen downloads, and
    nothing is fetched from outside."""
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    shots = _shots()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM,
                                             args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000},
                                    accept_downloads=True)
            page.on("request", lambda request: requests.append(request.url))
            page.goto(server + "/")
            page.wait_for_selector("#kpi-min_reserves_gbp", timeout=WAIT_MS)
            page.wait_for_selector("#cliff .main-svg", timeout=WAIT_MS)
            before = _value(page, "min_reserves_gbp")
            traces = page.locator("#cliff .scatterlayer .trace").count()
            assert traces > 0
            hover = page.get_attribute("#label-grant_amount", "title") or ""
            assert "unit: GBP/year" in hover and "source:" in hover, hover
            if shots:
                page.screenshot(path=str(shots / "explorer.png"), full_page=True)

            # Drag the grant amount's thumb to the left end and let go (£0 a year).
            thumb = page.locator("#grant_amount [role=slider]")
            track = page.locator("#grant_amount .dash-slider-track").bounding_box()
            box = thumb.bounding_box()
            assert box is not None and track is not None
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(track["x"] - 20, box["y"] + box["height"] / 2, steps=8)
            page.mouse.up()
            assert page.get_attribute("#grant_amount [role=slider]", "aria-valuenow") == "0"
            page.wait_for_function(
                f"document.querySelector('#kpi-min_reserves_gbp')"
                f".getAttribute('data-value') !== {before!r}", timeout=WAIT_MS)
            page.wait_for_selector("#status:has-text('runs of each scenario')", timeout=WAIT_MS)
            shown = float(_value(page, "min_reserves_gbp"))
            survival = float(_value(page, "survival_prob_y10"))

            with page.expect_download(timeout=WAIT_MS) as download:
                page.click("#save")
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            with page.expect_download(timeout=WAIT_MS) as packed:
                page.click("#boardpack")
            pack = tmp_path / packed.value.suggested_filename
            packed.value.save_as(pack)
            # A second tab starts from the file and does not disturb the first.
            other = browser.new_page(viewport={"width": 1500, "height": 1000})
            other.on("request", lambda request: requests.append(request.url))
            other.goto(server + "/")
            other.wait_for_selector("#kpi-min_reserves_gbp", timeout=WAIT_MS)
            assert _value(other, "min_reserves_gbp") == before
            assert _value(page, "min_reserves_gbp") == repr(shown)
            other.close()
            if shots:
                page.screenshot(path=str(shots / "explorer_no_grant.png"), full_page=True)
                page.get_by_text("Scorecard and paired differences").click()
                page.wait_for_selector("#scorecard table", timeout=WAIT_MS)
                page.screenshot(path=str(shots / "explorer_scorecard.png"), full_page=True)
        finally:
            browser.close()

    text = saved.read_text(encoding="utf-8")
    assert 'extends = "builtin:la_hosted"' in text and "amount_gbp_per_year = 0.0" in text
    checked = subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(saved)],
                             capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert checked.returncode == 0, checked.stderr
    scenario = load_scenario(saved)
    assert scenario.finance.grants[0].amount_gbp_per_year == 0
    kpis = api.run(scenario, REPLICATES, SEED, block_size=BLOCK_SIZE).kpis.set_index("kpi")
    assert shown == kpis.loc["min_reserves_gbp", "p50"]
    assert np.isclose(survival, kpis.loc["survival_prob_y10", "mean"], rtol=0, atol=0)
    report = pack.read_text(encoding="utf-8")
    assert report.count('src="data:image/png;base64,') == 5  # every chart, paired included
    assert "Hosted by a council (explored)" in report and "<script" not in report.lower()
    outside = [url for url in requests if not url.startswith(server + "/")
               and not url.startswith(("data:", "blob:"))]
    assert not outside, outside
