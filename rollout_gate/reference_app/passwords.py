"""PBKDF2-SHA256 password hashes in the form `pbkdf2_sha256$iterations$salt_hex$hash_hex`."""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALGORITHM = "pbkdf2_sha256"
# Enough to be a real hash, few enough that signing in hundreds of load-test users stays cheap.
ITERATIONS = 100_000
SALT_BYTES = 16


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Hash `password`; pass `salt` only where the output must be reproducible (the seeder)."""
    if iterations < 1:
        raise ValueError("iterations must be positive")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{ALGORITHM}${iterations}${salt.hex()}${digest.hex()}"


def verify_password(password: str, hashed: str) -> bool:
    """True when `password` matches `hashed`; a malformed hash never matches."""
    try:
        algorithm, iterations_text, salt_hex, digest_hex = hashed.split("$")
        iterations = int(iterations_text)
        salt = bytes.fromhex(salt_hex)
        expected = bytes.fromhex(digest_hex)
    except ValueError:
        return False
    if algorithm != ALGORITHM or iterations < 1:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    # Constant-time, so response timing does not reveal how much of a guess was right.
    return hmac.compare_digest(actual, expected)
