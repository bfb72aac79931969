"""The matting page in a real browser: headless Chromium (Debian's package) driven by Playwright.

One test walks the page as a user would, on the tiny test model: upload a shared photo and its trimap,
matte, download the four files and compare alpha.png, cutout.png and composite.png byte for byte with
``predict``'s; paint a stroke of "unknown" and check the trimap and the matte changed under it; upload a
trimap of another size and a corrupt photo and check the page says so. The server and the browser are
stopped whatever happens. Where Chromium or Playwright is missing the test skips, except under CI=true.

ALPHAGAN_DEMO_SCREENSHOT=docs/demo.png also saves the page with its first matte there (for the README).
"""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from helpers import require_module, script, unavailable

from alphagan_jax.cli.predict import REFINE_BY_DEFAULT
from alphagan_jax.cli.predict import main as predict_main
from alphagan_jax.data import io
from alphagan_jax.data.trimap import UNKNOWN

REPO = Path(__file__).resolve().parents[2]
PHOTO, OTHER = "GT04", "GT01"  # GT01 is smaller than GT04
COLOUR = "#00b140"  # the page's default background colour
WAIT_MS = 240_000  # a shared 2-core CPU compiles slowly


@pytest.fixture
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[demo]')")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        unavailable("no chromium on PATH (apt-get install -y chromium)")
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        except Exception as e:  # noqa: BLE001 - any launch failure means no browser here
            unavailable(f"chromium cannot start: {e}")
        try:
            yield b
        finally:
            b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(trained_workdir, tmp_path):
    require_module("gradio", "the matting page (pip install -e '.[demo]')")
    port = _free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - the server writes it until the finally block
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [script("alphagan-demo"), "--model", str(trained_workdir), "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the page's server exited: {(tmp_path / 'server.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(url, timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the page's server did not answer within 240 s")
                time.sleep(1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _status_has(page, text: str) -> None:
    page.wait_for_function("t => document.querySelector('#status').innerText.includes(t)", arg=text, timeout=WAIT_MS)


def _replace_upload(page, elem_id: str, path: Path) -> None:
    # A file component holding a file shows it instead of its input: clear it first.
    page.locator(f"#{elem_id}").get_by_label("Clear").first.click()
    page.locator(f"#{elem_id} input[type=file]").wait_for(state="attached", timeout=WAIT_MS)
    page.set_input_files(f"#{elem_id} input[type=file]", str(path))


def _download(page, kind: str, folder: Path) -> Path:
    with page.expect_download() as d:
        page.click(f"#download-{kind}")
    assert d.value.suggested_filename == f"{kind}.png"
    path = folder / f"{kind}.png"
    d.value.save_as(path)
    return path


@pytest.mark.slow
def test_page_mattes_like_predict_paints_and_reports_bad_uploads(
    browser, server, shared_data, trained_workdir, tmp_path
):
    data = shared_data / "alphamatting"
    photo, trimap = data / "image" / f"{PHOTO}.png", data / "trimap" / f"{PHOTO}.png"
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(server, timeout=WAIT_MS)
    page.set_input_files("#photo input[type=file]", str(photo))
    _status_has(page, "No trimap")
    page.set_input_files("#trimap input[type=file]", str(trimap))
    _status_has(page, "uploaded trimap")
    page.click("#run")
    _status_has(page, "Matte 1:")
    assert "s, of which the network" in page.inner_text("#status")
    first = tmp_path / "first"
    got = {k: _download(page, k, first) for k in ("alpha", "cutout", "composite", "trimap")}
    shot = os.environ.get("ALPHAGAN_DEMO_SCREENSHOT")
    if shot:
        page.screenshot(path=shot, full_page=True)

    # predict on the same files, with the page's bucket, background and refinement.
    cli = tmp_path / "predict"
    assert (
        predict_main(
            [
                "--workdir",
                str(trained_workdir),
                "--image",
                str(photo),
                "--trimap",
                str(trimap),
                "--bucket",
                "64",
                "--background",
                COLOUR,
                "--out",
                str(cli),
                "--refine" if REFINE_BY_DEFAULT else "--no-refine",
            ]
        )
        == 0
    )
    for kind in ("alpha", "cutout", "composite"):
        assert got[kind].read_bytes() == (cli / f"{kind}.png").read_bytes(), f"{kind}.png differs from predict's"
    assert (io.read_trimap(got["trimap"]) == io.read_trimap(trimap)).all()

    # A stroke of "unknown" (the brush's default colour) across the middle of the photo.
    canvas = page.locator("#editor canvas").last
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    y = box["y"] + 0.5 * box["height"]
    page.mouse.move(box["x"] + 0.4 * box["width"], y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + (0.4 + 0.02 * i) * box["width"], y, steps=2)
    page.mouse.up()
    page.click("#run")
    _status_has(page, "Matte 2:")
    second = tmp_path / "second"
    t1, t2 = io.read_trimap(got["trimap"]), io.read_trimap(_download(page, "trimap", second))
    a1, a2 = io.read_alpha_u8(got["alpha"]), io.read_alpha_u8(_download(page, "alpha", second))
    changed = t1 != t2
    assert changed.sum() > 500, "the stroke did not reach the trimap"
    assert (t2[changed] == UNKNOWN).all()
    rows, cols = np.nonzero(changed)
    assert rows.max() - rows.min() < 60 < cols.max() - cols.min(), "the change is not a horizontal stroke"
    # The second matte is predict's on the painted trimap, byte for byte, and the stroke moved it.
    assert (a1[changed] != a2[changed]).any()
    painted = tmp_path / "painted"
    refine_flag = "--refine" if REFINE_BY_DEFAULT else "--no-refine"
    args = ["--workdir", str(trained_workdir), "--image", str(photo), "--bucket", "64", refine_flag]
    assert predict_main([*args, "--trimap", str(second / "trimap.png"), "--out", str(painted)]) == 0
    assert (second / "alpha.png").read_bytes() == (painted / "alpha.png").read_bytes()

    # Bad uploads: a trimap of another size, then a photo that is no image.
    _replace_upload(page, "trimap", data / "trimap" / f"{OTHER}.png")
    _status_has(page, "image sizes differ")
    broken = tmp_path / "holiday.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    _replace_upload(page, "photo", broken)
    _status_has(page, "cannot decode image")
    text = page.inner_text("body")
    assert "holiday.png" in page.inner_text("#status") and "Traceback" not in text
