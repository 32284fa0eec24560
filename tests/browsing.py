"""Driving the web pages in a real browser: Debian's Chromium under Playwright (Playwright's own
browser download is not used), and what counts as something gone wrong in a page.

`deploy/chromium/ensure-chromium` installs Chromium when missing, as root; otherwise the browser
tests skip, and under CI fail.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest
from playwright.async_api import ConsoleMessage, Page, Response

from tests.conftest import REPO

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ENSURE_CHROMIUM = REPO / "deploy" / "chromium" / "ensure-chromium"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts, which
# a closed network refuses; the sandbox needs privileges a test run as root does not grant it.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 60_000  # generous: services catch up and a consumer fetches in between


def unavailable(reason: str) -> NoReturn:
    """Skip for want of a browser; under CI, fail."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


class Problems(list[str]):
    """What went wrong in the pages: script errors, console errors (a CSP violation is one),
    and refused requests."""

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.append(str(error)))
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.append(message.text)

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.append(f"{response.status} {response.url}")
