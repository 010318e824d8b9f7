"""Secrets are masked where reports are made, so every consumer gets the masked report.

One hook wrapper around `pytest_runtest_makereport` and `pytest_make_collect_report` masks the report's
failure representation (traceback lines, `-l` locals, the crash message, function arguments) and its
captured sections before the terminal, junit XML, Allure or xdist see it; Allure's own file logger is
replaced by one that masks what it writes (`rollout_gate.reporting.allure_writer`). Nothing is rewritten
after the run, so files in the report directory that the run did not write are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rollout_gate.config.secrets import Redact


def redact_report(report: pytest.TestReport | pytest.CollectReport, redact: Redact) -> None:
    """Mask the report in place; whatever its failure representation, its rendered text is masked."""
    longrepr = report.longrepr
    if longrepr is not None:
        report.longrepr = _scrub(longrepr, redact)
        text = str(report.longrepr)
        if redact(text) != text:  # a representation the walk does not know: keep its masked text only
            report.longrepr = redact(text)
    if report.sections:
        report.sections = [(title, redact(content)) for title, content in report.sections]
    if isinstance(report, pytest.TestReport):
        report.user_properties = [(k, redact(v) if isinstance(v, str) else v) for k, v in report.user_properties]
        if isinstance(getattr(report, "wasxfail", None), str):
            report.wasxfail = redact(report.wasxfail)


def _scrub(value: Any, redact: Redact) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        value[:] = [_scrub(item, redact) for item in value]
        return value
    if isinstance(value, tuple):
        return tuple(_scrub(item, redact) for item in value)
    if hasattr(value, "toterminal") and hasattr(value, "__dict__"):
        # A pytest failure representation (ReprEntry, ReprLocals, ReprFileLocation, CollectErrorRepr...).
        for name, item in vars(value).items():
            setattr(value, name, _scrub(item, redact))
    return value


class ReportRedaction:
    """Registered by the plugin for a rollout run, on the controller and on xdist workers."""

    def __init__(self, redact: Redact) -> None:
        self.redact = redact
        self._restore_allure: Callable[[], None] | None = None

    # The innermost wrapper: every other wrapper (Allure's listener among them) already sees the masked report.
    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        redact_report(outcome.get_result(), self.redact)

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        outcome = yield
        redact_report(outcome.get_result(), self.redact)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # allure-pytest registers its file logger in its pytest_configure, which runs after ours.
        if getattr(session.config.option, "allure_report_dir", None):
            from rollout_gate.reporting import allure_writer

            self._restore_allure = allure_writer.install(self.redact)
            if self._restore_allure is not None:
                # Cleanups run last-in first-out: allure-pytest's own finds its logger registered again.
                session.config.add_cleanup(self._restore_allure)


def register(config: pytest.Config, redact: Redact) -> None:
    config.pluginmanager.register(ReportRedaction(redact), "rollout_gate_redaction")
