"""The server's RFC 9421 verification against the http-message-signatures library's verifier.

The server builds the signature base itself (services/station_auth.py); these cases sign requests with the
library, cover many kinds of component, tamper with them, and require the server to accept exactly what
the library's verifier accepts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, MappingKeyResolver

from bloodcert.errors import Unauthorized
from bloodcert.services.station_auth import (
    BODY_COMPONENTS,
    BODYLESS_COMPONENTS,
    SignedRequest,
    signature_algorithms,
    verify_signed,
)

URL = "https://bloodcert.example:443/api/v1/station/donations?from=2026-01-01&x=a%20b"
BODY = b'{"records": []}'
NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Key:
    key_id: str
    alg: str
    public_key_pem: str
    revoked_at: datetime | None = None


class _Msg:
    def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
        self.method, self.url, self.headers = method, url, headers


def _keys() -> dict[str, tuple[Key, Any]]:
    ed = ed25519.Ed25519PrivateKey.generate()
    p256 = ec.generate_private_key(ec.SECP256R1())
    found = {}
    for alg, private in (("ed25519", ed), ("ecdsa-p256-sha256", p256)):
        pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
        found[alg] = (Key(f"stk_{alg}", alg, pem), private)
    return found


KEYS = _keys()


def _sign(
    alg: str,
    components: tuple[str, ...],
    *,
    body: bytes | None = BODY,
    extra: dict[str, str] | None = None,
    url: str = URL,
    **options: Any,
) -> tuple[str, dict[str, str], bytes]:
    key, private = KEYS[alg]
    headers = {"Content-Type": "application/json", "Date": "Mon, 30 Nov 2026 10:00:00 GMT", **(extra or {})}
    message = _Msg("POST" if body else "GET", url, headers)
    HTTPMessageSigner(
        signature_algorithm=signature_algorithms()[alg],
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key.key_id: private}),
    ).sign(
        message,
        key_id=key.key_id,
        created=options.pop("created", NOW),
        nonce=options.pop("nonce", uuid.uuid4().hex),
        label="sig1",
        body=body,
        covered_component_ids=components,
        **options,
    )
    return message.method, message.headers, body or b""


def _library_accepts(alg: str, request: SignedRequest) -> bool:
    key = KEYS[alg][0]
    verifier = HTTPMessageVerifier(
        signature_algorithm=signature_algorithms()[alg],
        key_resolver=MappingKeyResolver(
            public_keys={key.key_id: key.public_key_pem.encode()}, private_keys={}
        ),
    )
    verifier.max_clock_skew = timedelta(seconds=300)
    required = BODY_COMPONENTS if request.body else BODYLESS_COMPONENTS

    class Headers:
        def items(self) -> Any:
            return iter(request.headers)

        def __iter__(self) -> Any:
            return iter(dict.fromkeys(k for k, _ in request.headers))

        def __contains__(self, name: object) -> bool:
            return isinstance(name, str) and any(k.lower() == name.lower() for k, _ in request.headers)

    try:
        verifier.verify(
            _Msg(request.method, request.url, Headers()),  # type: ignore[arg-type]
            max_age=None,
            require_components=required,
            body=request.body or None,
        )
    except Exception:
        return False
    return True


def _server_accepts(alg: str, request: SignedRequest) -> bool:
    key = KEYS[alg][0]
    try:
        verify_signed(request, keys={key.key_id: key}.get, now=NOW, window_s=300)
    except Unauthorized as exc:
        refused = exc.slug
    else:
        return True
    assert refused in {"signature_invalid", "signature_missing", "digest_mismatch", "signature_expired"}
    return False


def _request(method: str, headers: dict[str, str], body: bytes, url: str = URL) -> SignedRequest:
    return SignedRequest(method, url, [(k.lower(), v) for k, v in headers.items()], body)


COVERED = [
    ("@method", "@target-uri", "content-digest", "content-type"),
    ("@method", "@target-uri", "content-digest", "content-type", "date"),
    (
        "date",
        "@method",
        "@authority",
        "@target-uri",
        "@path",
        "@query",
        "@scheme",
        "content-digest",
        "content-type",
    ),
    ("@method", "@target-uri", "@request-target", "content-digest", "content-type"),
    (
        "@method",
        "@target-uri",
        '"@query-param";name="x"',
        '"@query-param";name="from"',
        "content-digest",
        "content-type",
    ),
    ("@method", "@target-uri", '"content-digest";sf', "content-digest", "content-type"),
    ("@method", "@target-uri", '"content-digest";key="sha-256"', "content-digest", "content-type"),
    ("@method", "@target-uri", "content-digest", '"content-type";bs', "content-type"),
    ("@method", "@target-uri", "content-digest", "content-type", "x-spaced"),
]


@pytest.mark.parametrize("alg", sorted(KEYS))
@pytest.mark.parametrize("components", COVERED)
def test_what_the_library_signs_verifies_as_the_library_verifies_it(
    alg: str, components: tuple[str, ...]
) -> None:
    method, headers, body = _sign(alg, components, extra={"X-Spaced": "  padded\tvalue  "})
    request = _request(method, headers, body)
    assert _library_accepts(alg, request)
    assert _server_accepts(alg, request)


def test_a_body_whose_digest_is_covered_only_with_parameters_is_refused() -> None:
    method, headers, body = _sign(
        "ed25519", ("@method", "@target-uri", '"content-digest";sf', "content-type")
    )
    request = _request(method, headers, body)
    assert _server_accepts("ed25519", request) == _library_accepts("ed25519", request) is False


def test_a_request_without_a_body_covers_method_and_target() -> None:
    method, headers, body = _sign("ed25519", ("@method", "@target-uri"), body=None)
    request = _request(method, headers, body)
    assert _library_accepts("ed25519", request) and _server_accepts("ed25519", request)


def _tampered() -> list[tuple[str, SignedRequest]]:
    cases: list[tuple[str, SignedRequest]] = []
    method, headers, body = _sign("ed25519", COVERED[2], extra={"X-Spaced": "v"})
    base = _request(method, headers, body)

    def with_header(name: str, value: str) -> SignedRequest:
        return SignedRequest(
            base.method, base.url, [(k, value if k == name else v) for k, v in base.headers], base.body
        )

    cases.append(("another date", with_header("date", "Tue, 01 Dec 2026 10:00:00 GMT")))
    cases.append(("another type", with_header("content-type", "text/plain")))
    cases.append(
        ("another url", SignedRequest(base.method, URL.replace("x=a", "x=b"), base.headers, base.body))
    )
    cases.append(("another method", SignedRequest("PUT", base.url, base.headers, base.body)))
    cases.append(
        (
            "a second date line",
            SignedRequest(base.method, base.url, [*base.headers, ("date", "x")], base.body),
        )
    )
    cases.append(
        (
            "a missing date",
            SignedRequest(base.method, base.url, [h for h in base.headers if h[0] != "date"], base.body),
        )
    )
    sig_input = dict(base.headers)["signature-input"]
    for label, changed in (
        ("an unknown parameter", sig_input + ";foo=1"),
        ("a tag", sig_input + ';tag="t"'),
        ("a duplicate component", sig_input.replace('("date"', '("date" "date"')),
        ("an uppercase component", sig_input.replace('"date"', '"Date"')),
        ("a token component", sig_input.replace('"date"', "date")),
        ("a created string", sig_input.replace(";created=", ';created="1";x=')),
        ("an expires far away", sig_input + ";expires=99999999999999"),
        ("an unknown derived component", sig_input.replace('"@path"', '"@nothing"')),
        ("a status", sig_input.replace('"@path"', '"@status"')),
        ("a second label", sig_input + ", sig2=()"),
        ("another label", sig_input.replace("sig1=", "sig9=")),
    ):
        cases.append((label, with_header("signature-input", changed)))
    signature = dict(base.headers)["signature"]
    cases.append(("a signature as a token", with_header("signature", "sig1=abc")))
    cases.append(("a second signature", with_header("signature", signature + ", sig2=:AAAA:")))
    cases.append(
        (
            "a flipped signature",
            with_header("signature", signature.replace(signature[10], "A" if signature[10] != "A" else "B")),
        )
    )
    return cases


@pytest.mark.parametrize(("case", "request_"), _tampered(), ids=[c for c, _ in _tampered()])
def test_tampered_requests_are_refused_as_the_library_refuses_them(
    case: str, request_: SignedRequest
) -> None:
    assert _server_accepts("ed25519", request_) == _library_accepts("ed25519", request_), case


def test_a_content_digest_with_a_second_algorithm_must_match_too() -> None:
    method, headers, body = _sign(
        "ed25519", ('"content-digest";sf', "content-digest", "@method", "@target-uri", "content-type")
    )
    headers = dict(headers)
    headers["Content-Digest"] += ", sha-512=:" + "A" * 86 + "==:"
    request = _request(method, headers, body)
    assert _server_accepts("ed25519", request) == _library_accepts("ed25519", request) is False
