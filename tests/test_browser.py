"""The explorers in a real JupyterLab, driven by Playwright in Debian's chromium.

JupyterLab runs on 127.0.0.1 with a token and is stopped by its own PID. Screenshots go to
``test-artifacts/``.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
STARTUP_SECONDS = 60
WIDGET_SECONDS = 240
UPDATE_SECONDS = 60

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_notebook(folder: Path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from medinterp.widgets import SaliencyExplorer, ShapExplorer, XrayExplorer"
        ),
        nbformat.v4.new_code_cell("xray = XrayExplorer()\nxray"),
        nbformat.v4.new_code_cell("shap_explorer = ShapExplorer()\nshap_explorer"),
        nbformat.v4.new_code_cell("saliency = SaliencyExplorer()\nsaliency"),
    ]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, folder / "explorers.ipynb")


def _server_pids(port):
    listing = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "list", "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    pids = []
    for line in listing.stdout.splitlines():
        try:
            server = json.loads(line)
        except json.JSONDecodeError:
            continue
        if server.get("port") == port:
            pids.append(server["pid"])
    return pids


def _write_settings(folder: Path):
    """JupyterLab user settings: render every cell (no windowing) and fetch no news."""
    settings = {
        "notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    }
    for name, values in settings.items():
        path = folder / "@jupyterlab" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lab")
    _write_notebook(folder)
    settings = tmp_path_factory.mktemp("settings")
    _write_settings(settings)
    port, token = _free_port(), secrets.token_hex(16)
    log = open(folder / "jupyterlab.log", "w")  # noqa: SIM115 - closed in teardown
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={folder}", "--ServerApp.port_retries=0",
         "--ServerApp.allow_root=True"],
        stdout=log, stderr=subprocess.STDOUT,
        env=dict(os.environ, JUPYTER_PLATFORM_DIRS="1", JUPYTERLAB_SETTINGS_DIR=str(settings)),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"JupyterLab did not start:\n{(folder / 'jupyterlab.log').read_text()}")
            time.sleep(0.5)
    yield base, token
    for pid in set(_server_pids(port)) | {process.pid}:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    shutil.copy(folder / "jupyterlab.log", ARTIFACTS / "jupyterlab.log")


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    base, token = lab
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/explorers.ipynb?token={token}")
        try:
            page.locator(".jp-Notebook").wait_for(timeout=STARTUP_SECONDS * 1000)
            # Wait for the kernel before running, or the run request can be lost.
            page.get_by_text(re.compile(r"\| Idle$")).first.wait_for(timeout=STARTUP_SECONDS * 1000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()
            for selector in (".medinterp-xray-explorer .medinterp-tile",
                             ".medinterp-shap-explorer .medinterp-dependence-plot",
                             ".medinterp-saliency-explorer .medinterp-tile"):  # fmt: skip
                page.locator(selector).first.wait_for(
                    state="attached", timeout=WIDGET_SECONDS * 1000
                )
        except Exception:
            page.screenshot(path=ARTIFACTS / "explorers_failed.png", full_page=True)
            raise
        page.screenshot(path=ARTIFACTS / "explorers_loaded.png", full_page=True)
        yield page
        browser.close()


def _tiles(page):
    return page.locator(".medinterp-xray-explorer .medinterp-tile")


def test_label_checkbox_and_image_picker_change_overlays(page):
    from playwright.sync_api import expect

    explorer = page.locator(".medinterp-xray-explorer")
    # Image 0 (a pneumothorax phantom) preselects its finding, also the top prediction.
    expect(_tiles(page)).to_have_count(2)  # original + Pneumothorax
    explorer.get_by_label("Nodule").check()
    expect(_tiles(page)).to_have_count(3, timeout=UPDATE_SECONDS * 1000)
    expect(explorer.get_by_text("Nodule: p=")).to_be_visible(timeout=UPDATE_SECONDS * 1000)
    page.screenshot(path=ARTIFACTS / "xray_after_checkbox.png", full_page=True)

    first_overlay = _tiles(page).nth(1)
    source, pixels = first_overlay.get_attribute("src"), first_overlay.screenshot()
    explorer.locator("select").first.select_option(index=3)
    expect(first_overlay).not_to_have_attribute("src", source, timeout=UPDATE_SECONDS * 1000)
    expect(_tiles(page)).to_have_count(3)  # image 3's findings, Infiltration and Mass
    assert first_overlay.screenshot() != pixels  # the rendered pixels changed, too
    page.screenshot(path=ARTIFACTS / "xray_after_image.png", full_page=True)


def test_shap_feature_dropdown_changes_plot(page):
    from playwright.sync_api import expect

    explorer = page.locator(".medinterp-shap-explorer")
    plot = explorer.locator(".medinterp-dependence-plot")
    source, pixels = plot.get_attribute("src"), plot.screenshot()
    explorer.locator("select").first.select_option(label="Systolic BP")
    expect(plot).not_to_have_attribute("src", source, timeout=UPDATE_SECONDS * 1000)
    assert plot.screenshot() != pixels
    page.screenshot(path=ARTIFACTS / "shap_after_feature.png", full_page=True)


def test_model_choice_and_drain_toggle_change_the_picture(page):
    from playwright.sync_api import expect

    explorer = page.locator(".medinterp-xray-explorer")
    original = _tiles(page).first
    bars = explorer.locator(".widget-html").last
    source, probabilities = original.get_attribute("src"), bars.inner_text()
    pixels = original.screenshot()
    explorer.get_by_role("button", name="shortcut").click()
    expect(bars).not_to_have_text(probabilities, timeout=UPDATE_SECONDS * 1000)
    with_shortcut = bars.inner_text()
    explorer.get_by_label("Chest drain").check()
    # The same patient, re-rendered with a drain: the original tile and the bars change.
    expect(original).not_to_have_attribute("src", source, timeout=UPDATE_SECONDS * 1000)
    expect(bars).not_to_have_text(with_shortcut, timeout=UPDATE_SECONDS * 1000)
    page.screenshot(path=ARTIFACTS / "xray_drain_toggled.png", full_page=True)
    drained, drained_pixels = original.get_attribute("src"), original.screenshot()
    assert drained_pixels != pixels
    explorer.get_by_label("Chest drain").uncheck()
    expect(original).not_to_have_attribute("src", drained, timeout=UPDATE_SECONDS * 1000)
    assert original.screenshot() == pixels  # the stored phantom again


def test_saliency_method_picker_changes_the_map_and_its_score(page):
    from playwright.sync_api import expect

    explorer = page.locator(".medinterp-saliency-explorer")
    saliency_tile = explorer.locator(".medinterp-tile").nth(1)
    # Image 0 is a pneumothorax phantom: its finding is preselected and scored against its mask.
    caption = explorer.get_by_text(re.compile(r"^Pneumothorax, gradcam: AUPRC \d\.\d\d"))
    expect(caption).to_be_visible(timeout=UPDATE_SECONDS * 1000)
    source, pixels = saliency_tile.get_attribute("src"), saliency_tile.screenshot()
    explorer.locator("select").nth(2).select_option(label="gradient")
    expect(saliency_tile).not_to_have_attribute("src", source, timeout=UPDATE_SECONDS * 1000)
    expect(explorer.get_by_text(re.compile(r"^Pneumothorax, gradient: AUPRC"))).to_be_visible()
    assert saliency_tile.screenshot() != pixels
    page.screenshot(path=ARTIFACTS / "saliency_after_method.png", full_page=True)
