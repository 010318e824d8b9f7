"""Users that existed before the migration, to verify what they see after it (never created or deleted).

From `target.auth.users_csv` (`email,password` with a header line) where the environment names one;
on the local target, from the reference app's deterministic seed. Under `target.auth.kind: bearer_tokens`
(users of a hosted sign-in: Clerk, Auth0) they are the users whose tokens were issued beforehand:
`target.auth.tokens_csv` (`email,token`) and `target.auth.tokens` (`${VAR}`s); they have no password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rollout_gate.config import Environment
from rollout_gate.csv_rows import read_rows

# Seeded users with data: the seed leaves users with n % 50 == 3 empty.
LOCAL_USERS = (1, 2, 4, 5)


@dataclass(frozen=True)
class ExistingUser:
    email: str
    password: str | None = field(default=None, repr=False)
    # A token issued beforehand (bearer_tokens), instead of a password.
    token: str | None = field(default=None, repr=False)

    @property
    def secret(self) -> str | None:
        """What `rollout_gate.auth.sign_in` takes for this user: its token if it has one, else its password."""
        return self.token or self.password


def _resolve(csv_path: str, env_file: Path) -> Path:
    path = Path(csv_path).expanduser()
    return path if path.is_absolute() else env_file.parent / path


def existing_users(env: Environment, env_file: Path) -> list[ExistingUser]:
    auth = env.target.auth
    if auth.kind == "bearer_tokens":
        users = read_tokens_csv(_resolve(auth.tokens_csv, env_file)) if auth.tokens_csv else []
        known = {user.email.lower() for user in users}
        given = [ExistingUser(t.email, token=t.token.get_secret_value()) for t in auth.tokens]
        return users + [user for user in given if user.email.lower() not in known]
    csv_path = auth.users_csv
    if csv_path:
        return read_users_csv(_resolve(csv_path, env_file))
    if env.is_local:
        from rollout_gate.reference_app.seed import SEED_PASSWORD

        return [ExistingUser(f"user{n}@example.test", SEED_PASSWORD) for n in LOCAL_USERS if n <= env.local.scale.users]
    return []


def read_users_csv(path: Path) -> list[ExistingUser]:
    rows = read_rows(path, "target.auth.users_csv")
    users = [ExistingUser(r["email"].strip(), r["password"]) for r in rows if r.get("email") and r.get("password")]
    if not users:
        raise ValueError(f"target.auth.users_csv: {path} has no `email,password` rows")
    return users


def read_tokens_csv(path: Path) -> list[ExistingUser]:
    """`email,token` rows with a header line (`target.auth.tokens_csv`)."""
    rows = read_rows(path, "target.auth.tokens_csv")
    users = [
        ExistingUser(r["email"].strip(), token=r["token"].strip()) for r in rows if r.get("email") and r.get("token")
    ]
    if not users:
        raise ValueError(f"target.auth.tokens_csv: {path} has no `email,token` rows")
    return users
