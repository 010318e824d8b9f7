"""Environment files: parsing, `${VAR}` expansion, one-line errors, secret redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout_gate.config import ConfigError, Redactor, load_environment, redact_url, resolve_path
from rollout_gate.phases import Phase

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "env.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["local", "staging", "production"])
def test_shipped_environments_load(name: str) -> None:
    environ = {
        "STAGING_BASE_URL": "https://staging.example.test",
        "STAGING_DATABASE_URL": "postgresql://u:pw-123456@db.example.test/app",
        "PRODUCTION_BASE_URL": "https://app.example.test",
        "PRODUCTION_DATABASE_URL": "postgresql://ro:pw-654321@db.example.test/app",
    }
    loaded = load_environment(resolve_path(name, ROOT / "environments"), environ)
    assert loaded.env.name == name
    assert "pw-" not in loaded.describe_target()


def test_production_forbids_writes_and_load() -> None:
    environ = {"PRODUCTION_BASE_URL": "https://a.test", "PRODUCTION_DATABASE_URL": "postgresql://r:x@h/d"}
    env = load_environment(ROOT / "environments" / "production.yaml", environ).env
    assert not env.safety.allow_writes and not env.safety.allow_load


def test_variables_are_expanded_with_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "kind: remote\ntarget:\n  base_url: ${URL}\n  connect_timeout: ${T:-3}\n")
    env = load_environment(path, {"URL": "https://x.test"}).env
    assert env.target.base_url == "https://x.test"
    assert env.target.connect_timeout == 3


def test_missing_variable_names_file_key_and_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "kind: remote\ntarget:\n  database_url: ${STAGING_DATABASE_URL}\n")
    with pytest.raises(ConfigError) as info:
        load_environment(path, {})
    assert str(info.value) == f"{path}: target.database_url: environment variable STAGING_DATABASE_URL is not set"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "kind: remote\ntarget:\n  databse_url: x\n")
    with pytest.raises(ConfigError, match=r"env\.yaml:3: target\.databse_url: unknown key$"):
        load_environment(path, {})


def test_invalid_yaml_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "kind: remote\ntarget: [unclosed\n")
    with pytest.raises(ConfigError, match=r"env\.yaml: invalid YAML at line \d+, column \d+"):
        load_environment(path, {})


def test_bad_value_does_not_echo_it(tmp_path: Path) -> None:
    path = write(tmp_path, "kind: remote\ntarget:\n  connect_timeout: ${T}\n")
    with pytest.raises(ConfigError) as info:
        load_environment(path, {"T": "hunter2-not-a-number"})
    assert "target.connect_timeout" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_unknown_phase_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "kind: remote\nphases:\n  enabled: [post-deploy, launch]\n")
    with pytest.raises(ConfigError, match=r"phases\.enabled\.1"):
        load_environment(path, {})


def test_phases_parse_in_rollout_order(tmp_path: Path) -> None:
    env = load_environment(write(tmp_path, "kind: remote\n"), {}).env
    # watch needs a metric source: an environment enables it by listing it.
    assert list(env.phases.enabled) == [p for p in Phase if p is not Phase.WATCH]
    assert [p.order for p in Phase] == [0, 1, 2, 3, 4, 5]


def test_unknown_environment_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'stagin'.*known: local, production, staging"):
        resolve_path("stagin", ROOT / "environments")


def test_non_mapping_document(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_environment(write(tmp_path, "- a\n- b\n"), {})


def test_redact_url_masks_password_only() -> None:
    assert redact_url("postgresql://app:pa55word@db.example:5432/x") == "postgresql://app:***@db.example:5432/x"
    assert redact_url("host=db password=pa55word dbname=x") == "host=db password=*** dbname=x"
    assert redact_url("https://staging.example.test") == "https://staging.example.test"


def test_redactor_masks_secret_fields_dsn_passwords_and_secret_variables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "kind: remote\ntarget:\n  database_url: ${DB_URL}\n  base_url: ${BASE}\n"
        "  auth:\n    test_password: ${TEST_PASSWORD}\n",
    )
    environ = {"DB_URL": "postgresql://u:dsn-pass-1@h/d", "BASE": "https://b.test", "TEST_PASSWORD": "user-pass-2"}
    loaded = load_environment(path, environ)
    text = "connect postgresql://u:dsn-pass-1@h/d as user-pass-2 at https://b.test"
    redacted = loaded.redact(text)
    assert "dsn-pass-1" not in redacted and "user-pass-2" not in redacted
    assert "https://b.test" in redacted
    assert "dsn-pass-1" not in repr(loaded.env)  # SecretStr hides it from reprs and tracebacks too


def test_redactor_ignores_trivially_short_values() -> None:
    redact = Redactor(["ab", "longer-secret"])
    assert redact("ab longer-secret") == "ab ***"
