"""Rehearse the harness against a tenancy model of tests/models/, the way CI runs it against a team's target.

A model directory holds `schema.sql` + `data.sql` (the single-tenant v1 and its data, set-based), a clean
`migration.sql` to multi-tenant, `env.yaml` (the team's environment file, DSN from ${MODEL_DSN}) and
`defects/*.sql`, each applied after the migration and naming in a `-- fails:` line the criteria it must
fail. `serve` starts an embedded PostgreSQL of the model's own (roles are cluster-wide), loads v1 into a
template database and, on first use, records the pre-deploy baseline with a real pre-deploy job; each
post-migration job then runs on a fresh copy with `-m "integrity or isolation"` and its gate.json is read.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql
from pydantic import BaseModel

from rollout_gate.config.models import Environment
from rollout_gate.local.cluster import ClusterInfo, EmbeddedCluster
from rollout_gate.run import RunContext
from tests.rehearsal import ROOT

MODELS = Path(__file__).resolve().parent
# Role attributes a defect may change (roles are cluster-wide): put back after the defect's run.
_ROLE_FLAGS = ("rolsuper", "rolbypassrls")
_FLAG_SQL = {"rolsuper": "superuser", "rolbypassrls": "bypassrls"}


@dataclass(frozen=True)
class Defect:
    """One defect migration of a model and the criteria it must fail (its `-- fails:` header line)."""

    model: str
    name: str
    fails: tuple[str, ...]
    description: str
    # Objects (tables, policies, functions, roles) the failing criteria's reports must name (`-- names:`):
    # a defect "caught" by some other finding is not caught.
    names: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return MODELS / self.model / "defects" / f"{self.name}.sql"

    def __str__(self) -> str:
        return f"{self.model}/{self.name}"


def defects(model: str) -> list[Defect]:
    found = []
    for path in sorted((MODELS / model / "defects").glob("*.sql")):
        header = [line.removeprefix("--").strip() for line in path.read_text().splitlines() if line.startswith("--")]
        fails = next((h.removeprefix("fails:").strip() for h in header if h.startswith("fails:")), "")
        names = next((h.removeprefix("names:").strip() for h in header if h.startswith("names:")), "")
        text = " ".join(h for h in header if not h.startswith(("fails:", "names:")))
        found.append(Defect(model, path.stem, _listed(fails), text, _listed(names)))
    return found


def _listed(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip())


def defect(model: str, name: str) -> Defect:
    return next(d for d in defects(model) if d.name == name)


@dataclass
class Run:
    """One harness job: its exit code, its output and the gate.json it wrote ({} if none)."""

    returncode: int
    output: str
    gate: dict[str, Any]

    @property
    def verdict(self) -> str | None:
        return self.gate.get("verdict")

    @property
    def statuses(self) -> dict[str, str]:
        return {c["id"]: c["status"] for c in self.gate.get("criteria", [])}

    def failing(self) -> dict[str, str]:
        """Criteria that did not pass (warnings included), except those the environment file makes not applicable."""
        return {
            c["id"]: c["status"]
            for c in self.gate.get("criteria", [])
            if c["status"] != "pass" and not str(c.get("reason") or "").startswith("not applicable")
        }


@dataclass
class ModelTarget:
    model: str
    info: ClusterInfo
    workdir: Path
    env_file: Path
    _baseline: Run | None = field(default=None, repr=False)

    @property
    def template(self) -> str:
        return f"{self.model}_v1"

    @property
    def baseline_file(self) -> Path:
        return self.workdir / "baseline.json"

    def database(self, label: str, *files: Path) -> str:
        """A copy of the v1 database with `files` applied; returns its DSN."""
        name = f"{self.model}_{label}"
        with psycopg.connect(self.info.dsn(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(self.template))
            )
        dsn = self.info.dsn(name)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for file in files:
                conn.execute(file.read_text())  # type: ignore[arg-type]
        return dsn

    def harness(self, dsn: str, reports: Path, *args: str) -> Run:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "PYTEST_"))}
        env["MODEL_DSN"] = dsn
        argv = [
            sys.executable, "-m", "pytest", f"--env={self.env_file}", f"--report-dir={reports}",
            f"--baseline={self.baseline_file}", "-p", "no:cacheprovider", "-q", "-rfEs", *args,
        ]  # fmt: skip
        proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        gate_file = reports / "gate.json"
        gate = json.loads(gate_file.read_text()) if gate_file.is_file() else {}
        return Run(proc.returncode, proc.stdout + proc.stderr, gate)

    def baseline(self) -> Run:
        """The pre-deploy job on v1 (once): records the baseline the post-migration jobs compare against."""
        if self._baseline is None:
            self._baseline = self.harness(
                self.info.dsn(self.template), self.workdir / "predeploy", "--phase=pre-deploy",
                "suites/predeploy/test_baseline.py",
            )  # fmt: skip
        run = self._baseline
        assert run.returncode == 0 and run.statuses.get("baseline_recorded") == "pass", run.output
        return run

    def post_migration(self, label: str, reports: Path, *files: Path) -> Run:
        """The migration (and `files`) applied to a fresh copy of v1, then the post-migration job on it."""
        self.baseline()
        with self._roles_restored():
            dsn = self.database(label, MODELS / self.model / "migration.sql", *files)
            return self.harness(dsn, reports, "--phase=post-migration", "-m", "integrity or isolation")

    @contextmanager
    def _roles_restored(self) -> Iterator[None]:
        query = f"select rolname, {', '.join(_ROLE_FLAGS)} from pg_roles where rolname !~ '^pg_'"
        with psycopg.connect(self.info.dsn(), autocommit=True) as conn:
            before = {r[0]: r[1:] for r in conn.execute(query).fetchall()}  # type: ignore[arg-type]
        try:
            yield
        finally:
            with psycopg.connect(self.info.dsn(), autocommit=True) as conn:
                for name, *flags in conn.execute(query).fetchall():  # type: ignore[arg-type]
                    for flag, was, now in zip(_ROLE_FLAGS, before.get(name, flags), flags, strict=True):
                        if was != now:
                            option = _FLAG_SQL[flag] if was else f"no{_FLAG_SQL[flag]}"
                            conn.execute(sql.SQL("alter role {} {}").format(sql.Identifier(name), sql.SQL(option)))


@contextmanager
def serve(model: str, workdir: Path, env_file: Path | None = None) -> Iterator[ModelTarget]:
    """The model's v1 (schema and data) in a template database on an embedded PostgreSQL of its own."""
    run = RunContext.new()
    cluster = EmbeddedCluster(ROOT / ".rollout", run.run_id, run.owner_pid)
    try:
        info = cluster.ensure_running()
        target = ModelTarget(model, info, workdir, env_file or MODELS / model / "env.yaml")
        with psycopg.connect(info.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(target.template)))
        with psycopg.connect(info.dsn(target.template), autocommit=True) as conn:
            for name in ("schema.sql", "data.sql"):
                conn.execute((MODELS / model / name).read_text())  # type: ignore[arg-type]
        yield target
    finally:
        cluster.stop()


def assert_go(run: Run) -> None:
    """No false alarm: GO, and no criterion failing, erring or inconclusive (warnings included)."""
    assert "Traceback" not in run.output, run.output
    assert run.returncode == 0 and run.verdict == "GO", run.output
    assert not run.failing(), (run.failing(), run.output)


def assert_caught(run: Run, defect: Defect) -> None:
    """The defect is not GO, and every criterion it names fails (not merely inconclusive)."""
    assert defect.fails, f"{defect}: no `-- fails:` line"
    assert "Traceback" not in run.output, run.output
    assert run.returncode != 0 and run.verdict not in (None, "GO"), run.output
    for criterion in defect.fails:
        assert run.statuses.get(criterion) == "fail", (str(defect), criterion, run.statuses, run.output)
    # What the failing criteria report (reasons, failure lines and findings) names the defect's objects.
    reported = json.dumps([c for c in run.gate.get("criteria", []) if c["id"] in defect.fails])
    for name in defect.names:
        assert name in reported, (str(defect), f"the failing criteria do not name {name}", reported[:4000])


def model_fixture(model: str) -> Any:
    """A module-scoped `model_target` fixture serving `model` (assign it in the test module)."""

    @pytest.fixture(scope="module")
    def model_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelTarget]:
        with serve(model, tmp_path_factory.mktemp(model)) as target:
            yield target

    return model_target


def defect_params(model: str, marks: Mapping[str, pytest.MarkDecorator | None]) -> list[Any]:
    """One pytest param per defect file, with the mark the test module gives it (e.g. an xfail naming a branch)."""
    return [pytest.param(d.name, marks=[m] if (m := marks.get(d.name)) else [], id=d.name) for d in defects(model)]


def check_catalogue(model: str, marks: Mapping[str, pytest.MarkDecorator | None]) -> None:
    """The env file is at most 15 lines; every defect file is declared by the test and names known criteria."""
    env = MODELS / model / "env.yaml"
    assert len(env.read_text().splitlines()) <= 15, f"{env}: more than 15 lines"
    unknown = _unknown_keys(yaml.safe_load(env.read_text()), Environment, "")
    assert not unknown, f"{env}: keys neither in the environment model nor in the issue 11 contract: {unknown}"
    for name in ("schema.sql", "data.sql", "migration.sql"):
        assert (MODELS / model / name).is_file(), f"{model}/{name} is missing"
    found = {d.name: d for d in defects(model)}
    assert found, f"{model} has no defect"
    assert set(found) == set(marks), f"{model}: defect files {sorted(found)} vs declared {sorted(marks)}"
    known = _criterion_ids()
    for d in found.values():
        assert d.fails and d.description, f"{d}: needs a `-- fails: <criterion>` line and a description"
        assert d.names, f"{d}: needs a `-- names: <table, policy, role...>` line (what its report must name)"
        # Criteria still being built on other branches are allowed by name (see contract-11: db_role_rules,
        # app_role_rls); anything else must be a criterion the harness defines.
        unknown = [c for c in d.fails if c not in known and c not in _PENDING_CRITERIA]
        assert not unknown, f"{d}: unknown criteria {unknown}"


_PENDING_CRITERIA = frozenset({"db_role_rules", "app_role_rls"})
# Keys /work/notes/contract-11.md adds (built on other branches): accepted by name, their values not looked into.
_CONTRACT_KEYS = frozenset(
    {
        "target.app_role", "tenancy.tenant_keys", "tenancy.roles", "tenancy.invitations",
        "tenancy.personal_workspace.predicate", "tenancy.users_without_tenant", "tenancy.tenants_without_owner",
        "tenancy.global_rows", "tenancy.migration", "tenancy.impersonation.extra_claims",
        "tenancy.impersonation.pre_request",
    }
)  # fmt: skip


def _unknown_keys(data: Any, model: type[BaseModel], prefix: str) -> list[str]:
    if not isinstance(data, dict):
        return []  # e.g. `personal_workspace: none` (contract) in place of a block
    unknown = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if path in _CONTRACT_KEYS:
            continue
        field = model.model_fields.get(key)
        if field is None:
            unknown.append(path)
        elif isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            unknown += _unknown_keys(value, field.annotation, f"{path}.")
    return unknown


def _criterion_ids() -> set[str]:
    from importlib import resources

    text = resources.files("rollout_gate.criteria").joinpath("defaults.yaml").read_text()
    return set(re.findall(r"^  - id: (\S+)", text, re.M))


def check_sql(target: ModelTarget, min_rows: int = 100, max_rows: int = 2000) -> None:
    """v1 holds hundreds of rows; the migration applies to it, and every defect applies after it (rolled back)."""
    with psycopg.connect(target.info.dsn(target.template)) as conn:
        row = conn.execute(
            "select sum(c.reltuples)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where c.relkind = 'r' and n.nspname in ('public', 'auth')"
        ).fetchone()
    rows = row[0] if row else 0
    assert rows is not None and min_rows <= rows <= max_rows, f"{target.model} v1 holds {rows} rows"
    dsn = target.database("sql_check", MODELS / target.model / "migration.sql")
    with psycopg.connect(dsn) as conn:
        for d in defects(target.model):
            with conn.transaction(force_rollback=True):
                conn.execute(d.path.read_text())  # type: ignore[arg-type]
