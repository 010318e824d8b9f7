"""The reference app's schema setting: v2 unless told, v1 on request, anything else refused in one line."""

from __future__ import annotations

import pytest

from rollout_gate.reference_app.app.settings import Settings

BASE = {
    "ROLLOUT_APP_DATABASE_URL": "postgresql://rg_app@127.0.0.1:9/app",
    "ROLLOUT_APP_JWT_SECRET": "x" * 48,
    "ROLLOUT_APP_PUBLIC_URL": "http://127.0.0.1:9",
}


def test_the_app_is_v2_unless_told_otherwise() -> None:
    assert Settings.from_environ(BASE).schema == "v2"
    assert Settings.from_environ({**BASE, "ROLLOUT_APP_SCHEMA": "v1"}).schema == "v1"


def test_an_unknown_schema_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match=r"ROLLOUT_APP_SCHEMA must be one of v1, v2, not 'v3'"):
        Settings.from_environ({**BASE, "ROLLOUT_APP_SCHEMA": "v3"})
