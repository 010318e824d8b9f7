"""`rollout-gate verdict` reads an environment's criteria without its variables set, defaults intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout_gate.cli.verdict import _environment
from rollout_gate.config import ConfigError, load_environment

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["local", "staging", "production"])
def test_shipped_environments_load_for_the_verdict_without_their_variables(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("ROLLOUT_SCALE_USERS", "STAGING_BASE_URL", "PRODUCTION_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    loaded = _environment(name, ROOT / "environments")
    assert loaded.env.name == name
    if name == "local":
        assert loaded.env.local.scale.users == 300  # `${ROLLOUT_SCALE_USERS:-300}` kept its default


def test_a_normal_load_still_refuses_a_missing_variable(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text("kind: remote\ntarget:\n  base_url: ${NOPE}\n")
    with pytest.raises(ConfigError, match="NOPE is not set"):
        load_environment(path, {"NOPE": ""})
