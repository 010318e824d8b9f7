"""What every request handler and service needs: settings, database, policy, mailer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from psycopg import errors as pg

from rollout_gate.reference_app.app.authz import Policy
from rollout_gate.reference_app.app.db import Database
from rollout_gate.reference_app.app.errors import AppError, bad_request, conflict, database_denied
from rollout_gate.reference_app.app.mailer import Mailer
from rollout_gate.reference_app.app.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    db: Database
    policy: Policy
    mailer: Mailer


@asynccontextmanager
async def db_errors() -> AsyncIterator[None]:
    """Turn database refusals into app errors; wrap it around (outside) the transaction."""
    try:
        yield
    except AppError:
        raise
    except pg.InsufficientPrivilege:
        # RLS (or a grant) refused what the app's own checks let through.
        raise database_denied() from None
    except pg.UniqueViolation:
        raise conflict("exists", "it already exists") from None
    except (pg.CheckViolation, pg.ForeignKeyViolation, pg.NotNullViolation, pg.DataError):
        raise bad_request("the values are not valid") from None
