"""Fixtures of the browser tests: Debian's Chromium, installed if missing, and a headless
browser of it per test."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.browsing import CHROMIUM, CHROMIUM_FLAGS, ENSURE_CHROMIUM, WAIT_MS, unavailable


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed first if missing (as root)."""
    if CHROMIUM.is_file():
        return CHROMIUM
    env = {**os.environ, "CHROMIUM_PATH": str(CHROMIUM)}
    ensured = subprocess.run(
        [str(ENSURE_CHROMIUM)], env=env, capture_output=True, text=True, check=False
    )
    if ensured.returncode != 0:
        unavailable(f"no Chromium for the browser tests:\n{ensured.stderr}")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """A headless Chromium, closed after the test whatever happened."""
    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()
