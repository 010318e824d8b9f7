"""Every tenant-isolation check fails on a migration with its defect, naming the table (and passes on the clean one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.defects.catalogue import CLEAN_VARIANTS, ISOLATION, Defect
from tests.defects.rehearse import assert_caught, rehearse_post_migration


@pytest.mark.parametrize("defect", ISOLATION, ids=str)
def test_isolation_defect_is_caught(defect: Defect, tmp_path: Path) -> None:
    assert_caught(defect, tmp_path)


@pytest.mark.parametrize("variant", CLEAN_VARIANTS, ids=str)
def test_clean_variant_is_go(variant: Defect, tmp_path: Path) -> None:
    run = rehearse_post_migration(tmp_path / "reports", "isolation", variant.migrations)
    assert "Traceback" not in run.output, run.output
    assert run.returncode == 0 and run.verdict == "GO", run.output
    # Passed, not skipped: a skipped feeder would have made the criterion inconclusive.
    assert run.criterion("zero_cross_tenant_access")["status"] == "pass", run.output
    failed = [line for line in run.output.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    assert not [line for line in failed if any(f"::{test}" in line for test in variant.passes)], run.output
