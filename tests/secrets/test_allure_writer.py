"""Allure results are masked as allure-commons writes them: results, containers, text and zip attachments."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import allure_commons
from allure_commons import model2
from allure_commons.logger import AllureFileLogger

from rollout_gate.config.secrets import Redactor
from rollout_gate.reporting.allure_writer import RedactingFileLogger, install

SECRET = "Allure-Pw-5521"


def test_results_containers_and_attachments_are_masked_as_written(tmp_path: Path) -> None:
    logger = RedactingFileLogger(tmp_path / "results", Redactor([SECRET]))
    result = model2.TestResult(
        uuid="r1",
        name="test_x",
        statusDetails=model2.StatusDetails(message=f"cannot log in with {SECRET}", trace=f"pw = '{SECRET}'"),
        parameters=[model2.Parameter(name="dsn", value=f"postgresql://u:{SECRET}@h/db")],
    )
    logger.report_result(result)
    logger.report_container(model2.TestResultContainer(uuid="c1", name=f"fixture {SECRET}"))
    logger.report_attached_data(f"stdout {SECRET}", "a-attachment.txt")
    logger.report_attached_data(f"bytes {SECRET}".encode(), "b-attachment.txt")
    png = b"\x89PNG\xff\xfe" + SECRET.encode()
    logger.report_attached_data(png, "c-attachment.png")
    text_file, zip_file = tmp_path / "log.txt", tmp_path / "trace.zip"
    text_file.write_text(f"log {SECRET}\n")
    with zipfile.ZipFile(zip_file, "w") as zf:
        zf.writestr("trace.network", f'{{"postData": "password={SECRET}"}}')
    logger.report_attached_file(text_file, "d-attachment.txt")
    logger.report_attached_file(zip_file, "e-attachment.zip")

    out = tmp_path / "results"
    written = {p.name: p.read_bytes() for p in out.iterdir()}
    assert not [name for name in written if name.endswith(".tmp")]
    assert [name for name, data in written.items() if SECRET.encode() in data] == ["c-attachment.png"]
    (result_file,) = [p for p in out.iterdir() if p.name.endswith("-result.json")]
    data = json.loads(result_file.read_text())
    assert data["statusDetails"] == {"message": "cannot log in with ***", "trace": "pw = '***'"}
    assert data["parameters"] == [{"name": "dsn", "value": "postgresql://u:***@h/db"}]
    assert written["a-attachment.txt"] == b"stdout ***" and written["d-attachment.txt"] == b"log ***\n"
    with zipfile.ZipFile(out / "e-attachment.zip") as zf:
        assert zf.read("trace.network") == b'{"postData": "password=***"}'
    assert text_file.read_text() == f"log {SECRET}\n"  # the source of an attachment is not touched


def test_install_takes_the_place_of_allure_pytests_logger_and_puts_it_back(tmp_path: Path) -> None:
    manager = allure_commons.plugin_manager
    original = AllureFileLogger(tmp_path / "results")
    manager.register(original, "file-logger-under-test")
    try:
        restore = install(Redactor([SECRET]))
        assert restore is not None
        assert not manager.is_registered(original)
        (ours,) = [p for p in manager.get_plugins() if isinstance(p, RedactingFileLogger)]
        manager.hook.report_attached_data(body=f"x {SECRET}", file_name="x-attachment.txt")
        assert (tmp_path / "results" / "x-attachment.txt").read_text() == "x ***"
        restore()
        assert manager.is_registered(original) and not manager.is_registered(ours)
        assert manager.get_name(original) == "file-logger-under-test"
    finally:
        if manager.is_registered(original):
            manager.unregister(original)
        shutil.rmtree(tmp_path / "results", ignore_errors=True)


def test_install_without_allure_results_does_nothing() -> None:
    assert not [p for p in allure_commons.plugin_manager.get_plugins() if type(p) is AllureFileLogger]
    assert install(Redactor([SECRET])) is None


def test_secrets_that_json_escapes_are_masked_too(tmp_path: Path) -> None:
    secret = 'Pässwört"\\42\n'  # non-ASCII, a quote, a backslash, a newline
    logger = RedactingFileLogger(tmp_path, Redactor([secret]))
    logger.report_result(model2.TestResult(uuid="r", name="t", description=f"before {secret} after"))
    (written,) = tmp_path.glob("*-result.json")
    assert json.loads(written.read_text())["description"] == "before *** after"
    assert "Pässwört" not in written.read_text(encoding="utf-8")
