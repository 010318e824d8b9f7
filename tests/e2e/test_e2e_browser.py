"""Which browser the E2E suite launches: configured, Playwright's own, or the system's Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout_gate.e2e import browser
from rollout_gate.e2e.browser import BrowserUnavailable, chromium_executable, launch_options
from rollout_gate.e2e.config import DEFAULT_ARGS, E2eConfig


def executable(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def test_playwrights_own_chromium_wins_when_installed(tmp_path: Path) -> None:
    assert chromium_executable(E2eConfig(), executable(tmp_path, "chrome")) is None


def test_system_chromium_when_playwright_has_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = executable(tmp_path, "chromium")
    monkeypatch.setattr(browser, "SYSTEM_CHROMIUM", (str(tmp_path / "absent"), system))
    options = launch_options(E2eConfig(), str(tmp_path / "not-installed"))
    assert options["executable_path"] == system and options["headless"] is True
    assert options["args"] == list(DEFAULT_ARGS) and "--no-sandbox" in options["args"]


def test_configured_executable_and_no_browser_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configured = executable(tmp_path, "my-chrome")
    assert chromium_executable(E2eConfig(browser_executable=configured), None) == configured
    with pytest.raises(BrowserUnavailable, match="not an executable"):
        chromium_executable(E2eConfig(browser_executable=str(tmp_path / "nope")), None)
    monkeypatch.setattr(browser, "SYSTEM_CHROMIUM", ())
    with pytest.raises(BrowserUnavailable, match="system-deps"):
        chromium_executable(E2eConfig(), None)
