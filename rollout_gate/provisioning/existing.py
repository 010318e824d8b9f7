"""Users that existed before the migration, to verify what they see after it (never created or deleted).

From `target.auth.users_csv` (`email,password` with a header line) where the environment names one;
on the local target, from the reference app's deterministic seed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from rollout_gate.config import Environment

# Seeded users with data: the seed leaves users with n % 50 == 3 empty.
LOCAL_USERS = (1, 2, 4, 5)


@dataclass(frozen=True)
class ExistingUser:
    email: str
    password: str = field(repr=False)


def existing_users(env: Environment, env_file: Path) -> list[ExistingUser]:
    csv_path = env.target.auth.users_csv
    if csv_path:
        path = Path(csv_path).expanduser()
        if not path.is_absolute():
            path = env_file.parent / path
        return read_users_csv(path)
    if env.is_local:
        from rollout_gate.reference_app.seed import SEED_PASSWORD

        return [ExistingUser(f"user{n}@example.test", SEED_PASSWORD) for n in LOCAL_USERS if n <= env.local.scale.users]
    return []


def read_users_csv(path: Path) -> list[ExistingUser]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ValueError(f"target.auth.users_csv: cannot read {path}: {exc.strerror}") from None
    users = [ExistingUser(r["email"].strip(), r["password"]) for r in rows if r.get("email") and r.get("password")]
    if not users:
        raise ValueError(f"target.auth.users_csv: {path} has no `email,password` rows")
    return users
