"""Strict environment files: each bad input is a one-line ConfigError, and `pytest --env=FILE` exits 4 with it.

Every case is proven twice: `load_environment` (or the criteria resolution that `--env` runs) raises a
ConfigError naming the file, the key and its line, and a real pytest run on the same file ends with that
one line, exit 4 and no traceback.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from rollout_gate.config import ConfigError, load_environment
from rollout_gate.criteria.resolve import base_specs, default_specs, resolve
from rollout_gate.strict_yaml import MAX_BYTES, parse_yaml
from tests.conftest import RolloutProject

ROOT = Path(__file__).resolve().parents[2]

# The classic billion laughs: 9 levels of 9 aliases, 9^9 values once expanded (~1 KB of YAML).
BOMB = "kind: remote\nlol0: &l0 lol\n" + "".join(
    f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10)
)


@dataclass(frozen=True)
class Bad:
    """A bad environment file and the one line it must give (`{file}` is the file's path)."""

    name: str
    content: bytes
    message: str


def yaml(text: str) -> bytes:
    return text.encode()


BAD = [
    Bad(
        "duplicate_top_level_key",
        yaml("kind: remote\nsafety:\n  allow_writes: false\nsafety:\n  allow_writes: true\n"),
        "{file}:4: safety: duplicate key (first at line 2); keep only one",
    ),
    Bad(
        "duplicate_nested_key",
        yaml("kind: remote\nsafety:\n  allow_writes: false\n  allow_load: false\n  allow_writes: true\n"),
        "{file}:5: safety.allow_writes: duplicate key (first at line 3); keep only one",
    ),
    Bad(
        "duplicate_key_in_list_item",
        yaml(
            "kind: remote\ncriteria:\n  rules:\n    - criteria: [smoke]\n      action: warn\n      action: rollback\n"
        ),
        "{file}:6: criteria.rules.0.action: duplicate key (first at line 5); keep only one",
    ),
    Bad(
        "not_utf8",
        b"kind: remote\ndescription: caf\xe9 cr\xe8me\n",
        "{file}:2: not UTF-8 (byte 0xe9 at offset 29); save the file as UTF-8",
    ),
    Bad(
        "over_one_mib",
        b"kind: remote\n" + b"# padding\n" * (MAX_BYTES // 10 + 1),
        "{file}: larger than 1 MiB; a configuration file is a few KiB, check it is the right file",
    ),
    Bad(
        "billion_laughs",
        yaml(BOMB),
        "{file}:11: lol9: aliases expand to more than 100000 values; use fewer anchors/aliases",
    ),
    Bad(
        "recursive_alias",
        yaml("kind: remote\ntenancy:\n  schemas: &s [public, *s]\n"),
        "{file}:3: alias *s refers to its own anchor; write the value out",
    ),
    Bad(
        "nested_too_deep",
        yaml("kind: remote\ndescription: " + "[" * 500 + "]" * 500 + "\n"),
        "{file}:2: nested deeper than 64 levels; flatten the structure",
    ),
    Bad(
        "control_character",
        yaml("kind: remote\ndescription: a\x00b\n"),
        "{file}: invalid YAML at line 2, column 15: character #x0000 is not allowed; remove it",
    ),
    Bad(
        "infinite_latency_threshold",
        yaml("kind: remote\nthresholds:\n  p95_ms: .inf\n"),
        "{file}:3: thresholds.p95_ms: Input should be a finite number",
    ),
    Bad(
        "overflowing_latency_threshold",
        yaml("kind: remote\nthresholds:\n  p95_ms: 1e999\n"),
        "{file}:3: thresholds.p95_ms: Input should be a finite number",
    ),
    Bad(
        "nan_rate_threshold",
        yaml("kind: remote\nthresholds:\n  error_rate: .nan\n"),
        "{file}:3: thresholds.error_rate: Input should be a finite number",
    ),
    Bad(
        "negative_rate_threshold",
        yaml("kind: remote\nthresholds:\n  error_rate_rollback: -0.1\n"),
        "{file}:3: thresholds.error_rate_rollback: Input should be greater than or equal to 0",
    ),
    Bad(
        "infinite_timeout_anywhere",
        yaml("kind: remote\nload:\n  think_time_s: [0, .inf]\n"),
        "{file}:3: load.think_time_s.1: inf is not a finite number; write a number",
    ),
    Bad(
        "min_samples_zero",
        yaml("kind: remote\ncriteria:\n  override:\n    load_p95:\n      min_samples: 0\n"),
        "{file}:5: criteria.override.load_p95.min_samples: min_samples must be at least 1, not 0",
    ),
    Bad(
        "infinite_criterion_threshold",
        yaml("kind: remote\ncriteria:\n  override:\n    load_p95:\n      threshold: '< inf'\n"),
        "{file}:5: criteria.override.load_p95.threshold: threshold '< inf': inf is not a finite number; write a number",
    ),
    Bad(
        "nan_criterion_threshold",
        yaml("kind: remote\ncriteria:\n  override:\n    load_cross_tenant_hits:\n      threshold: '!= nan'\n"),
        "{file}:5: criteria.override.load_cross_tenant_hits.threshold: threshold '!= nan': nan is not a finite number;"
        " write a number",
    ),
]

# Only wrong once the criteria are resolved (the limit is judged against what the measurement can be).
BAD_CRITERIA = [
    Bad(
        "negative_rate_criterion_threshold",
        yaml("kind: remote\ncriteria:\n  override:\n    load_error_rate:\n      threshold: '> -0.5'\n"),
        "{file}: criteria.override.load_error_rate.threshold: '> -0.5' cannot hold for load.error_rate;"
        " write a limit from 0 to 1",
    ),
    Bad(
        "rate_criterion_threshold_above_one",
        yaml("kind: remote\ncriteria:\n  override:\n    load_error_rate:\n      threshold: '< 5'\n"),
        "{file}: criteria.override.load_error_rate.threshold: '< 5' cannot hold for load.error_rate;"
        " write a limit from 0 to 1",
    ),
    Bad(
        "negative_latency_criterion_threshold",
        yaml("kind: remote\ncriteria:\n  override:\n    load_p95:\n      threshold: '> -1'\n"),
        "{file}: criteria.override.load_p95.threshold: '> -1 ms' cannot hold for load.p95_ms;"
        " write a limit of 0 or more",
    ),
    Bad(
        "min_samples_from_a_rate",
        yaml("kind: remote\ncriteria:\n  override:\n    load_p95:\n      min_samples: thresholds.error_rate\n"),
        "{file}: criteria.override.load_p95.min_samples: is 0.01; write a whole number of at least 1",
    ),
    Bad(
        "added_rate_criterion_above_one",
        yaml(
            "kind: remote\ncriteria:\n  add:\n    - id: api_errors\n      title: API errors\n"
            "      phases: [post-deploy]\n      feeds: {measurement: api.error_rate}\n      threshold: '< 2'\n"
        ),
        "{file}: criterion api_errors: threshold: '< 2' cannot hold for api.error_rate; write a limit from 0 to 1",
    ),
]


def write(directory: Path, bad: Bad) -> Path:
    path = directory / f"{bad.name}.yaml"
    path.write_bytes(bad.content)
    return path


def load_and_resolve(path: Path) -> None:
    """What `pytest --env=FILE` does with an environment file before running anything."""
    env = load_environment(path, {}).env
    resolve(base_specs(env.criteria, path), env.criteria, env.thresholds, where=str(path))


@pytest.mark.parametrize("bad", BAD, ids=lambda b: b.name)
def test_loader_refuses_with_one_line(tmp_path: Path, bad: Bad) -> None:
    path = write(tmp_path, bad)
    with pytest.raises(ConfigError) as info:
        load_environment(path, {})
    assert str(info.value) == bad.message.format(file=path)


@pytest.mark.parametrize("bad", BAD_CRITERIA, ids=lambda b: b.name)
def test_criteria_resolution_refuses_with_one_line(tmp_path: Path, bad: Bad) -> None:
    path = write(tmp_path, bad)
    load_environment(path, {})  # well-formed on its own
    with pytest.raises(ConfigError) as info:
        load_and_resolve(path)
    assert str(info.value) == bad.message.format(file=path)


@pytest.mark.parametrize("bad", BAD + BAD_CRITERIA, ids=lambda b: b.name)
def test_pytest_env_exits_4_with_the_one_line(rollout_project: RolloutProject, bad: Bad) -> None:
    path = write(rollout_project.envs, bad)
    rollout_project.pytester.makepyfile("def test_x(): pass")
    result = rollout_project.pytester.runpytest(f"--env={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR == 4
    errors = [line for line in result.stderr.lines if line.strip()]
    assert errors == [f"ERROR: {bad.message.format(file=path)}"]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    # The run stopped before deciding: its gate file says so (aborted, INCONCLUSIVE), never GO.
    gate = json.loads((rollout_project.reports / "gate.json").read_text())
    assert (gate["status"], gate["verdict"]) == ("aborted", "INCONCLUSIVE")


# ---- what stays allowed: safe_load semantics otherwise -------------------------------------------


def test_anchors_aliases_and_merge_keys_still_work() -> None:
    document = parse_yaml(
        b"base: &base {a: 1, b: 2}\nother:\n  <<: *base\n  b: 3\nlist: [*base, *base]\nwhen: 2024-01-02\n",
        "x.yaml",
    )
    assert document.data["other"] == {"a": 1, "b": 3}  # an explicit key overrides a merged one
    assert document.data["list"] == [{"a": 1, "b": 2}, {"a": 1, "b": 2}]
    assert str(document.data["when"]) == "2024-01-02"
    assert document.line_of(("other", "b")) == 4


def test_python_tags_stay_refused() -> None:
    with pytest.raises(ConfigError, match=r"^x\.yaml: invalid YAML at line 1, column 4: .*python/object"):
        parse_yaml(b"a: !!python/object/apply:os.system [true]\n", "x.yaml")


def test_utf8_with_bom_and_non_ascii_text_load(tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_bytes("\ufeffkind: remote\ndescription: Crème brûlée — 東京\n".encode())
    assert load_environment(path, {}).env.description == "Crème brûlée — 東京"


def test_a_file_just_under_the_limit_loads(tmp_path: Path) -> None:
    head = b"kind: remote\n"
    path = tmp_path / "env.yaml"
    path.write_bytes(head + b"#" * (MAX_BYTES - len(head) - 1) + b"\n")
    assert path.stat().st_size == MAX_BYTES
    assert load_environment(path, {}).env.kind == "remote"


def test_other_validation_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_text("kind: remote\ntarget:\n  base_url: http://x\n  connect_timeout: 0\n")
    with pytest.raises(ConfigError) as info:
        load_environment(path, {})
    assert str(info.value) == f"{path}:4: target.connect_timeout: Input should be greater than 0"


def test_criteria_file_is_read_strictly(tmp_path: Path) -> None:
    (tmp_path / "criteria.yaml").write_text(
        "version: 1\ncriteria:\n  - id: a\n    title: A\n    phases: [post-deploy]\n    title: B\n"
    )
    path = tmp_path / "env.yaml"
    path.write_text("kind: remote\ncriteria:\n  file: criteria.yaml\n")
    with pytest.raises(ConfigError) as info:
        load_and_resolve(path)
    where = tmp_path / "criteria.yaml"
    assert str(info.value) == f"{where}:6: criteria.0.title: duplicate key (first at line 4); keep only one"


@pytest.mark.parametrize("path", sorted((ROOT / "environments").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_environments_load_and_resolve(path: Path) -> None:
    environ = {
        "STAGING_BASE_URL": "https://staging.example.test",
        "STAGING_DATABASE_URL": "postgresql://u:pw@db.example.test/app",
        "PRODUCTION_BASE_URL": "https://app.example.test",
        "PRODUCTION_DATABASE_URL": "postgresql://ro:pw@db.example.test/app",
    }
    env = load_environment(path, environ).env
    criteria = resolve(base_specs(env.criteria, path), env.criteria, env.thresholds, where=str(path))
    assert env.name == path.stem
    assert len(criteria) > 0


def test_shipped_default_criteria_load() -> None:
    specs = default_specs()
    assert len(specs) >= 30
    assert all(re.fullmatch(r"[a-z0-9_]+", spec.id) for spec in specs)
