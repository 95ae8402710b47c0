"""The worked example of docs/station-integration.md, checked byte for byte against the server's own code.

The example's blocks are read out of the markdown (each follows an `<!-- example: NAME -->` marker), so the
page cannot drift from the code: the key id is the server's `key_id_for`, the digest and the signature base
are recomputed here by the rules the page states, the Ed25519 signature (deterministic) is made again, and
the request is authenticated by `services.station_auth` and then posted through the app's real route.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from litestar.testing import TestClient

from bloodcert.config import Settings
from bloodcert.errors import Unauthorized
from bloodcert.services.station_auth import BODY_COMPONENTS, SignedRequest, authenticate_station, key_id_for
from bloodcert.services.stations import add_station_key, register_station
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests.conftest import DATA_KEY, GENEROUS_LIMITS, INDEX_KEY

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "station-integration.md"
BLOCK = re.compile(r"<!-- example: (?P<name>[a-z-]+) -->\n```[a-z]*\n(?P<text>.*?)\n```", re.DOTALL)
SEED_LABEL = b"bloodcert station guide example key"
STATION = "33000001"


@cache
def blocks() -> dict[str, str]:
    """The example's blocks by name, exactly as the page shows them."""
    found: dict[str, str] = {}
    for match in BLOCK.finditer(GUIDE.read_text(encoding="utf-8")):
        assert match["name"] not in found, f"two example blocks named {match['name']}"
        found[match["name"]] = match["text"]
    return found


@dataclass(frozen=True)
class Example:
    """The request the page describes, parsed from its blocks."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        return next(v for k, v in self.headers if k.lower() == name.lower())

    @property
    def params(self) -> str:
        """The Signature-Input member's value, without its label."""
        return self.header("Signature-Input").split("=", 1)[1]

    def param(self, name: str) -> str:
        match = re.search(rf';{name}=("?)([^;"]*)\1', self.params)
        assert match, f"no {name} parameter"
        return match[2]

    @property
    def created(self) -> datetime:
        return datetime.fromtimestamp(int(self.param("created")), UTC)

    def signed(self, **changes: object) -> SignedRequest:
        return replace(SignedRequest(self.method, self.url, self.headers, self.body), **changes)  # type: ignore[arg-type]


@cache
def example() -> Example:
    lines = blocks()["request"].split("\n")
    method, target, _version = lines[0].split(" ")
    headers = [(k, v) for k, _, v in (line.partition(": ") for line in lines[1:])]
    host = next(v for k, v in headers if k.lower() == "host")
    body = blocks()["body"].encode("utf-8")
    return Example(method, f"https://{host}{target}", [h for h in headers if h[0].lower() != "host"], body)


def private_key() -> ed25519.Ed25519PrivateKey:
    key = load_pem_private_key(blocks()["private-key"].encode(), password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key


def public_pem() -> bytes:
    return (blocks()["public-key"] + "\n").encode()


def signature_base(method: str, url: str, headers: list[tuple[str, str]], params: str) -> str:
    """RFC 9421 §2.5, written out by hand from the page's description, independent of any library."""
    values = {k.lower(): v for k, v in headers}
    lines = [f'"@method": {method}', f'"@target-uri": {url}']
    lines += [f'"{name}": {values[name]}' for name in ("content-digest", "content-type")]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines)


def test_the_page_holds_every_block_of_the_example() -> None:
    assert set(blocks()) == {
        "private-key",
        "public-key",
        "key-id",
        "body",
        "signature-base",
        "request",
        "response",
    }


def test_the_private_key_comes_from_the_seed_the_page_names() -> None:
    seed = hashlib.sha256(SEED_LABEL).digest()
    assert private_key().private_bytes_raw() == seed


def test_the_public_key_and_key_id_belong_to_the_private_key() -> None:
    derived = private_key().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    assert derived == public_pem()
    assert key_id_for(public_pem(), "ed25519") == blocks()["key-id"]
    assert example().param("keyid") == blocks()["key-id"]


def test_the_body_is_the_stated_size_and_one_line() -> None:
    body = example().body
    assert b"\n" not in body
    assert f"({len(body)} bytes)" in GUIDE.read_text(encoding="utf-8")
    assert json.loads(body)["records"][0]["donation_no"] == "D2024050100017"


def test_the_content_digest_is_the_sha256_of_the_body() -> None:
    digest = base64.b64encode(hashlib.sha256(example().body).digest()).decode()
    assert example().header("Content-Digest") == f"sha-256=:{digest}:"


def test_the_covered_components_and_parameters_are_the_ones_the_server_requires() -> None:
    params = example().params
    covered = params[params.index("(") + 1 : params.index(")")].split(" ")
    assert tuple(c.strip('"') for c in covered) == BODY_COMPONENTS
    assert example().param("alg") == "ed25519"
    assert example().created == datetime(2024, 5, 1, 1, 31, tzinfo=UTC)
    text = GUIDE.read_text(encoding="utf-8")
    assert f"created={example().param('created')}" in text
    assert f'nonce="{example().param("nonce")}"' in text


def test_the_signature_base_is_rebuilt_from_the_request_exactly() -> None:
    ex = example()
    assert signature_base(ex.method, ex.url, ex.headers, ex.params) == blocks()["signature-base"]


def test_the_signature_is_the_ed25519_signature_of_the_base() -> None:
    signature = private_key().sign(blocks()["signature-base"].encode())
    assert example().header("Signature") == f"sig1=:{base64.b64encode(signature).decode()}:"


@dataclass
class _Message:
    method: str
    url: str
    headers: dict[str, str]


def test_the_python_sketch_library_signs_the_same_headers() -> None:
    ex = example()
    message = _Message(ex.method, ex.url, {"Content-Type": "application/json"})
    key_id = blocks()["key-id"]
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: private_key()}),
    )
    signer.sign(
        message,
        key_id=key_id,
        created=ex.created,
        nonce=ex.param("nonce"),
        label="sig1",
        covered_component_ids=BODY_COMPONENTS,
        body=ex.body,
    )
    assert sorted(message.headers.items()) == sorted(ex.headers)


@pytest.fixture
def registered(sqlite_db: Database) -> Database:
    """The test database with the page's station and its public key."""
    now = datetime.now(UTC)
    with sqlite_db.transaction() as uow:
        register_station(uow, code=STATION, name="浙江省血液中心", region="330000", now=now)
        key_id = add_station_key(uow, code=STATION, public_key_pem=public_pem(), alg="ed25519", now=now)
    assert key_id == blocks()["key-id"]
    return sqlite_db


def test_the_server_authenticates_the_example_request(registered: Database) -> None:
    with registered.transaction() as uow:
        key = authenticate_station(uow, example().signed(), now=example().created, window_s=300)
    assert (key.key_id, key.station_code) == (blocks()["key-id"], STATION)


def test_the_server_refuses_the_example_with_one_body_byte_changed(registered: Database) -> None:
    body = example().body.replace(b'"version":1', b'"version":2')
    with registered.transaction() as uow, pytest.raises(Unauthorized) as refused:
        authenticate_station(uow, example().signed(body=body), now=example().created, window_s=300)
    assert refused.value.slug == "digest_mismatch"


def test_the_server_refuses_the_example_301_seconds_later(registered: Database) -> None:
    later = datetime.fromtimestamp(example().created.timestamp() + 301, UTC)
    with registered.transaction() as uow, pytest.raises(Unauthorized) as refused:
        authenticate_station(uow, example().signed(), now=later, window_s=300)
    assert refused.value.slug == "signature_expired"


@pytest.fixture
def client(registered: Database, tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """The app at the page's address, with a signature window wide enough to accept a 2024 `created`."""
    window = int(datetime.now(UTC).timestamp() - example().created.timestamp()) + 3600
    settings = Settings(
        database_url=registered.url,
        data_dir=tmp_path / "var",
        index_key=INDEX_KEY,
        data_key=DATA_KEY,
        rate_limits=GENEROUS_LIMITS,
        signature_window_s=window,
    )
    host = example().url.split("/")[2]
    with TestClient(app=create_app(settings, db=registered), base_url=f"https://{host}") as test_client:
        yield test_client


def test_the_example_request_posted_to_the_app_gets_the_documented_answer(client: TestClient) -> None:  # type: ignore[type-arg]
    ex = example()
    path = ex.url.split("/", 3)[3]
    response = client.post(f"/{path}", content=ex.body, headers=dict(ex.headers))
    assert response.status_code == 200, response.text
    documented = json.loads(blocks()["response"])["results"][0]
    answered = response.json()["results"][0]
    assert answered.keys() == documented.keys()
    # The certificate number depends on the year and the national counter; everything else is fixed.
    assert {**answered, "certificate_no": None} == {**documented, "certificate_no": None}
    assert re.fullmatch(r"[0-9]{15}[0-9X]", answered["certificate_no"])

    again = client.post(f"/{path}", content=ex.body, headers=dict(ex.headers))
    assert (again.status_code, again.json()["type"]) == (401, "replayed_nonce")
