"""Every tenant-isolation check fails on a migration with its defect, naming the table (and passes on the clean one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.defects.catalogue import ISOLATION, Defect
from tests.defects.rehearse import assert_caught


@pytest.mark.parametrize("defect", ISOLATION, ids=str)
def test_isolation_defect_is_caught(defect: Defect, tmp_path: Path) -> None:
    assert_caught(defect, tmp_path)
