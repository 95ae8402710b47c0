"""Our table-driven Base45 encoder writes exactly what the `base45` package writes."""

from __future__ import annotations

import base45
from hypothesis import given
from hypothesis import strategies as st

from bloodcert.certs.qr import b45encode


@given(st.binary(max_size=600))
def test_the_encoder_matches_the_base45_package(data: bytes) -> None:
    assert b45encode(data) == base45.b45encode(data).decode("ascii")
    assert base45.b45decode(b45encode(data)) == data


def test_the_rfc_9285_examples() -> None:
    assert b45encode(b"AB") == "BB8"
    assert b45encode(b"Hello!!") == "%69 VD92EX0"
    assert b45encode(b"base-45") == "UJCLQE7W581"
