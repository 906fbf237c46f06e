"""The real app over the real index of the bundled records, served on a free loopback port."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chroma_server import free_port

CHROMIUM = Path("/usr/bin/chromium")
# Flags the offline machine needs: without the background-networking ones Chromium keeps dialling Google.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "reports" / "screenshots"


@pytest.fixture(scope="session")
def assistant(real_index):
    """One assistant over the session's real index."""
    from rag.assistant import Assistant

    return Assistant(index=real_index)


@pytest.fixture(scope="session")
def app_url(assistant) -> Iterator[str]:
    """The Gradio app, launched in this process on a free loopback port."""
    from ui.app import build_app, launch_options

    port = free_port()
    demo = build_app(assistant)
    demo.queue(default_concurrency_limit=2)
    options = {**launch_options(assistant.settings.model_copy(update={"port": port})), "prevent_thread_lock": True}
    demo.launch(**options, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        demo.close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (installed by .ci/run when missing)."""
    path = shutil.which("chromium") or (str(CHROMIUM) if CHROMIUM.exists() else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it with apt")
        pytest.skip("chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh page at 1280×800 on the app."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(90_000)
    pg.goto(app_url)
    pg.wait_for_selector("#question textarea")
    try:
        yield pg
    finally:
        context.close()


def shot(page, name: str) -> Path:
    """Save a screenshot under reports/screenshots/ (looked at by hand; docs/ has the chosen ones)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
