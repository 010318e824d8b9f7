"""Keep secrets out of terminal output and report files.

A Redactor knows every secret value of the loaded environment (SecretStr
fields, DSN passwords, and the values of variables whose names look secret)
and masks them in any text the harness prints or writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

MASK = "***"
_SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|SERVICE_?KEY|PRIVATE|CREDENTIAL|DSN|DATABASE_URL", re.I
)
# Shortest value worth masking: masking "1" or "on" everywhere would garble output.
_MIN_SECRET_LENGTH = 4


def redact_url(url: str) -> str:
    """`postgresql://u:pw@host/db` -> `postgresql://u:***@host/db`; also masks `password=` in key/value DSNs."""
    url = re.sub(r"(password\s*=\s*)('[^']*'|\S+)", rf"\1{MASK}", url, flags=re.I)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username}:{MASK}@{host}" if parts.username else f"{MASK}@{host}"
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *values: str | None) -> None:
        for value in values:
            if value and len(value) >= _MIN_SECRET_LENGTH:
                self._secrets.add(value)
                password = url_password(value)
                if password and len(password) >= _MIN_SECRET_LENGTH:
                    self._secrets.add(password)

    def __call__(self, text: str) -> str:
        # Longest first, so a DSN is masked whole before its password alone.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def __len__(self) -> int:
        return len(self._secrets)

    @classmethod
    def for_model(cls, model: BaseModel, environ: Mapping[str, str], variables: Iterable[str]) -> Redactor:
        """Collect the secrets of a loaded environment and of the variables it references."""
        redactor = cls()
        for value in _secret_values(model):
            redactor.add(value)
        for name in variables:
            if _SECRET_NAME.search(name):
                redactor.add(environ.get(name))
        return redactor


def _secret_values(value: object) -> Iterable[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secret_values(getattr(value, name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _secret_values(item)
    elif isinstance(value, str):
        password = url_password(value) if "://" in value else None
        if password:
            yield password
