"""Debian's Chromium for Playwright: where it is and the flags that keep it off the network.

Playwright's own browser download is never used (it needs the internet): the tests and
benchmarks launch /usr/bin/chromium (`apt-get install chromium`; `.ci/run` installs it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # without these Chromium reaches for the network at start (updates, sync, QUIC probes)
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, as the tests and benchmarks drive it."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
