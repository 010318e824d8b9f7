"""Keep secrets out of terminal output and report files.

A Redactor knows every secret value of the loaded environment (SecretStr
fields, DSN passwords, and the values of variables whose names look secret),
and those the run learns on the way (test users' passwords, issued tokens),
and masks them in any text the harness prints or writes, in the spellings
a secret takes in reports: as is, URL-encoded (form bodies, query strings),
JSON- or repr-escaped. Signed JWTs are masked whoever issued them.
`redact_archive` applies it to every text member of a zip (Playwright traces).
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

MASK = "***"
_SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|SERVICE_?KEY|PRIVATE|CREDENTIAL|DSN|DATABASE_URL", re.I
)
# Shortest value worth masking: masking "1" or "on" everywhere would garble output.
_MIN_SECRET_LENGTH = 4
# A signed JWT (header and payload are base64url JSON objects, so both start with "eyJ"): a session
# token whoever issued it (the API client, the app's cookie seen by the browser).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]+")


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


def spellings(secret: str) -> set[str]:
    """The forms a secret takes in reports: as is, URL-encoded, JSON- and repr-escaped."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), repr(secret)[1:-1]}
    forms |= {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    return {form for form in forms if len(form) >= _MIN_SECRET_LENGTH}


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._ordered: list[str] = []
        self.add(*secrets)

    def add(self, *values: str | None) -> None:
        """Mask these from now on (a value and, for a URL, its password); trivially short values are ignored."""
        for value in values:
            if value and len(value) >= _MIN_SECRET_LENGTH:
                self._secrets |= spellings(value)
                password = url_password(value)
                if password and len(password) >= _MIN_SECRET_LENGTH:
                    self._secrets |= spellings(password)
        # Longest first, so a DSN is masked whole before its password alone.
        self._ordered = sorted(self._secrets, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        if "eyJ" in text:
            text = _JWT.sub(MASK, text)
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


Redact = Callable[[str], str]


def redact_bytes(data: bytes, redact: Redact) -> bytes | None:
    """The masked form of UTF-8 text; None for binary data (images), which text masking cannot reach."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return redact(text).encode("utf-8")


def redact_archive(source: Path, target: Path, redact: Redact) -> None:
    """Write `target`: `source` (a zip) with every text member masked; binary members are copied as they are.

    Written beside `target` and renamed into place, so a crash never leaves a half-masked archive there."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        with zipfile.ZipFile(source) as src, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info)
                masked = redact_bytes(data, redact)
                dst.writestr(info, data if masked is None else masked, compress_type=zipfile.ZIP_DEFLATED)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
