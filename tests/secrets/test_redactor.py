"""The Redactor masks a secret in the spellings reports give it, and signed JWTs whoever issued them."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from urllib.parse import urlencode

from rollout_gate.config.secrets import Redactor, redact_archive

PASSWORD = "p@ss w0rd&'\"\\x"  # every character that URL, JSON and repr encode differently
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSIsImVtYWlsIjoiYUBiLnRlc3QifQ.c2lnbmF0dXJlLWJ5dGVz"


def test_a_secret_is_masked_as_is_url_encoded_json_and_repr_escaped() -> None:
    redact = Redactor([PASSWORD])
    for spelled in (PASSWORD, urlencode({"password": PASSWORD}), json.dumps({"password": PASSWORD}), repr(PASSWORD)):
        masked = redact(spelled)
        assert "w0rd" not in masked, spelled
        assert "***" in masked


def test_secrets_learned_later_are_masked_from_then_on() -> None:
    redact = Redactor()
    assert redact("token abcd-1234") == "token abcd-1234"
    redact.add("abcd-1234", None, "ab")
    assert redact("token abcd-1234 ab") == "token *** ab"


def test_signed_jwts_are_masked_even_when_nobody_registered_them() -> None:
    redact = Redactor()
    assert redact(f"Set-Cookie: rg_session={JWT}; HttpOnly") == "Set-Cookie: rg_session=***; HttpOnly"
    assert redact(json.dumps({"access_token": JWT})) == '{"access_token": "***"}'
    assert redact("eyJ is not a token, nor is eyJabc.eyJdef") == "eyJ is not a token, nor is eyJabc.eyJdef"


def test_an_archive_is_rewritten_with_text_members_masked_and_binary_members_kept(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\xff\xfe" + PASSWORD.encode()  # not UTF-8: left as it is
    source = tmp_path / "raw.zip"
    with zipfile.ZipFile(source, "w") as zf:
        zf.writestr("trace.trace", json.dumps({"method": "fill", "params": {"value": PASSWORD}}) + "\n")
        zf.writestr("resources/abc.json", f'{{"access_token": "{JWT}"}}')
        zf.writestr("resources/shot.png", png)
    target = tmp_path / "kept.zip"
    redact_archive(source, target, Redactor([PASSWORD]))
    with zipfile.ZipFile(target) as zf:
        assert zf.namelist() == ["trace.trace", "resources/abc.json", "resources/shot.png"]
        assert json.loads(zf.read("trace.trace"))["params"]["value"] == "***"
        assert json.loads(zf.read("resources/abc.json")) == {"access_token": "***"}
        assert zf.read("resources/shot.png") == png
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.zip", "raw.zip"]  # no partial file left
