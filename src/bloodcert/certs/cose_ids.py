"""COSE `alg` values of the certificate signature algorithms, defined once for every module."""

from __future__ import annotations

ES256 = -7
# SM2-with-SM3 has no IANA COSE value yet: one from the private-use range, named in the trust list.
SM2_SM3 = -70010
