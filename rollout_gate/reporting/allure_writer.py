"""Allure results masked as they are written, never rewritten afterwards.

allure-pytest hands every result, container and attachment to the file logger registered in
`allure_commons.plugin_manager`; `RedactingFileLogger` takes its place and writes the same files with
every string masked. Text attachments are masked, zip attachments (Playwright traces) have each text
member masked; binary attachments (screenshots) are copied as they are: text masking cannot reach
pixels, and what a page shows of a secret is the page's own business.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import allure_commons
from allure_commons import hookimpl
from allure_commons.logger import INDENT, AllureFileLogger
from attr import asdict

from rollout_gate.config.secrets import Redact, redact_archive, redact_bytes


def redact_data(value: Any, redact: Redact) -> Any:
    """A JSON-like structure with every string in it masked."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_data(item, redact) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(item, redact) for item in value]
    return value


class RedactingFileLogger(AllureFileLogger):
    """allure-commons' file logger with every string and text attachment masked before it is written."""

    def __init__(self, report_dir: str | Path, redact: Redact) -> None:
        super().__init__(report_dir, clean=False)
        self.redact = redact

    def _report_item(self, item: Any) -> None:
        indent = INDENT if os.environ.get("ALLURE_INDENT_OUTPUT") else None
        filename = item.file_pattern.format(prefix=uuid.uuid4())
        data = asdict(item, filter=lambda _, v: v or v is False)
        text = json.dumps(data, indent=indent, ensure_ascii=False)
        # JSON escapes character by character and the Redactor knows each secret's JSON spelling, so a result
        # whose text needs no masking holds no secret; the others are masked string by string (exact).
        if self.redact(text) != text:
            text = json.dumps(redact_data(data, self.redact), indent=indent, ensure_ascii=False)
        self._replace(filename, text.encode("utf-8"))

    @hookimpl
    def report_result(self, result: Any) -> None:
        self._report_item(result)

    @hookimpl
    def report_container(self, container: Any) -> None:
        self._report_item(container)

    @hookimpl
    def report_globals(self, globals_item: Any) -> None:
        self._report_item(globals_item)

    @hookimpl
    def report_attached_data(self, body: str | bytes, file_name: str) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        masked = redact_bytes(data, self.redact)
        self._replace(file_name, data if masked is None else masked)

    @hookimpl
    def report_attached_file(self, source: str | Path, file_name: str) -> None:
        source = Path(source)
        if zipfile.is_zipfile(source):
            redact_archive(source, self._report_dir / file_name, self.redact)
            return
        data = source.read_bytes()
        masked = redact_bytes(data, self.redact)
        if masked is None:
            partial = self._report_dir / f"{file_name}.tmp"
            shutil.copy2(source, partial)
            os.replace(partial, self._report_dir / file_name)
        else:
            self._replace(file_name, masked)

    def _replace(self, file_name: str, data: bytes) -> None:
        partial = self._report_dir / f"{file_name}.tmp"
        partial.write_bytes(data)
        os.replace(partial, self._report_dir / file_name)


def install(redact: Redact) -> Callable[[], None] | None:
    """Put a RedactingFileLogger in place of every plain AllureFileLogger registered (allure-pytest's, with
    `--alluredir`); returns what puts them back (allure-pytest unregisters its own at cleanup), or None
    when allure is not writing results."""
    manager = allure_commons.plugin_manager
    replaced = [p for p in manager.get_plugins() if type(p) is AllureFileLogger]
    if not replaced:
        return None
    ours = []
    for original in replaced:
        name = manager.get_name(original)
        manager.unregister(original)
        logger = RedactingFileLogger(original._report_dir, redact)
        manager.register(logger)
        ours.append((name, original, logger))

    def restore() -> None:
        for name, original, logger in ours:
            if manager.is_registered(logger):
                manager.unregister(logger)
            manager.register(original, name)

    return restore
