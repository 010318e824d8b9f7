"""Errors every layer raises and the JSON and HTML layers render."""

from __future__ import annotations


class AppError(Exception):
    """An expected refusal: `status` and a stable `code`; the message never echoes ids or secrets."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str) -> AppError:
    return AppError(422, "invalid", message)


def unauthorized(message: str = "sign in first") -> AppError:
    return AppError(401, "unauthorized", message)


def forbidden(message: str) -> AppError:
    return AppError(403, "forbidden", message)


def not_found(what: str) -> AppError:
    return AppError(404, "not_found", f"{what} not found")


def conflict(code: str, message: str) -> AppError:
    return AppError(409, code, message)


def gone(message: str) -> AppError:
    return AppError(410, "gone", message)


def database_denied() -> AppError:
    """The app allowed something its database refused: a missing app check that RLS caught."""
    return AppError(500, "database_denied", "the database refused an operation the app allowed")
