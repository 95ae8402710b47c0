"""Our table-driven Base45 encoder and decoder agree with the `base45` package, byte for byte and error for
error."""

from __future__ import annotations

import base45
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bloodcert.certs.qr import b45decode, b45encode

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@given(st.binary(max_size=600))
def test_the_encoder_matches_the_base45_package(data: bytes) -> None:
    assert b45encode(data) == base45.b45encode(data).decode("ascii")
    assert base45.b45decode(b45encode(data)) == data


@given(st.binary(max_size=600))
def test_the_decoder_reads_back_what_was_encoded(data: bytes) -> None:
    assert b45decode(b45encode(data)) == data


def _package(text: str) -> bytes | None:
    try:
        return bytes(base45.b45decode(text))
    except ValueError:
        return None


def _ours(text: str) -> bytes | None:
    try:
        return b45decode(text)
    except ValueError:
        return None


@given(st.text(alphabet=ALPHABET + "abc!é", max_size=40))
def test_the_decoder_accepts_and_refuses_exactly_what_the_package_does(text: str) -> None:
    assert _ours(text) == _package(text)


@pytest.mark.parametrize("text", ["A", "GGW", "ZZZZ", "abc", "AB!", "::", ":::", "FGW0"])
def test_malformed_groups_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="Base45"):
        b45decode(text)


def test_the_rfc_9285_examples() -> None:
    assert b45encode(b"AB") == "BB8"
    assert b45encode(b"Hello!!") == "%69 VD92EX0"
    assert b45encode(b"base-45") == "UJCLQE7W581"
    assert b45decode("QED8WEX0") == b"ietf!"
