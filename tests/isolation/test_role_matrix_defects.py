"""db_role_rules: each policy-only role defect of the reference schema fails it (and no other criterion);
the clean reference passes it with every cell of the matrix conclusive."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.defects.catalogue import DB_ROLE_TESTS, ROLES, Defect
from tests.defects.rehearse import assert_caught
from tests.rehearsal import rehearse

SUMMARY = re.compile(
    r"role matrix on tenant \S+: (\d+) actor\(s\), (\d+) cell\(s\): (\d+) ok, (\d+) failing, (\d+) inconclusive; "
    r"(\d+) statements in ([\d.]+)s \((\d+)/s\)"
)


@pytest.mark.parametrize("defect", ROLES, ids=str)
def test_role_defect_fails_db_role_rules_and_only_it(defect: Defect, tmp_path: Path) -> None:
    assert_caught(defect, tmp_path)
    criteria = json.loads((tmp_path / "reports" / "gate.json").read_text())["criteria"]
    failing = sorted(c["id"] for c in criteria if c["status"] in ("fail", "error"))
    assert failing == ["db_role_rules"], (defect.name, failing)


def test_clean_reference_passes_db_role_rules_with_every_cell_conclusive(tmp_path: Path) -> None:
    run = rehearse(tmp_path / "reports", "--phase=post-migration", "-m", "isolation", "-q", "-rA")
    assert run.returncode == 0 and run.verdict == "GO", run.output
    assert run.criterion("db_role_rules")["status"] == "pass", run.output
    for test in DB_ROLE_TESTS:
        assert f"PASSED suites/tenant_isolation/test_db_role_rules.py::{test}" in run.output, (test, run.output)
    # Every declared role, an inactive owner and a non-member acted; no cell was left unproven.
    found = SUMMARY.search(run.output)
    assert found, run.output
    actors, cells, ok, failing, inconclusive = (int(found.group(i)) for i in range(1, 6))
    # Six actors (four roles, an inactive owner, a non-member), plus up to two of the tenant's own active
    # owners who act as positive controls only (the creator may hold rights the made-up owners lack).
    assert 6 <= actors <= 8 and (failing, inconclusive) == (0, 0) and cells == ok >= 60, found.group(0)
    print(found.group(0))
