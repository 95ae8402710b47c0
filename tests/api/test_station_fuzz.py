"""Fuzzing the station API's JSON and signature parsing: any input gets a 2xx/4xx answer, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.factories import StationKey, create_station, make_record, signed_headers

URL = BASE + "/api/v1/station/donations"
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
record_fields = st.fixed_dictionaries(
    {},
    optional={
        "donation_no": json_values,
        "version": json_values,
        "status": json_values,
        "donor": json_values
        | st.fixed_dictionaries({}, optional={"id_type": json_values, "id_number": json_values}),
        "donated_at": json_values,
        "kind": json_values,
        "volume_ml": json_values,
        "units": json_values,
        "site": json_values,
        "test_result": json_values,
    },
)


@pytest.fixture
def key(db: Database) -> StationKey:
    return create_station(db)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@FUZZ
@given(
    body=st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        st.lists(record_fields, max_size=5).map(lambda rs: json.dumps({"records": rs}).encode()),
        st.lists(st.builds(lambda r, k: {**make_record(), **r}, record_fields, st.none()), max_size=3).map(
            lambda rs: json.dumps({"records": rs}).encode()
        ),
        st.binary(max_size=200),
    )
)
def test_any_signed_body_is_answered_without_a_server_error(
    client: TestClient, key: StationKey, body: bytes
) -> None:  # type: ignore[type-arg]
    response = client.post(URL, content=body, headers=signed_headers(key, "POST", URL, body))
    assert response.status_code in {200, 400, 413}, response.text
    if response.status_code == 200:
        for result in response.json()["results"]:
            assert result["outcome"] in {"created", "updated", "unchanged", "rejected"}


header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@FUZZ
@given(
    signature_input=header_text,
    signature=header_text,
    digest=header_text,
    mutate=st.sampled_from(["input", "signature", "digest", "all"]),
)
def test_hostile_signature_headers_are_401_never_500(
    client: TestClient,
    key: StationKey,
    signature_input: str,
    signature: str,
    digest: str,
    mutate: str,  # type: ignore[type-arg]
) -> None:
    body = json.dumps({"records": [make_record()]}).encode()
    headers: dict[str, Any] = signed_headers(key, "POST", URL, body)
    if mutate in ("input", "all"):
        headers["Signature-Input"] = signature_input
    if mutate in ("signature", "all"):
        headers["Signature"] = signature
    if mutate in ("digest", "all"):
        headers["Content-Digest"] = digest
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
