"""Local stand-ins for Alipay, WeChat and Baidu that speak their wire formats over httpx.MockTransport.

Each simulator holds the platform's side of the protocol (apps, users, codes, tokens, keys), answers with
the platform's real success and error shapes, and also plays the user's browser step (`consent`, …) by
reading the authorization URL the provider built, as the platform's page would.
"""

from __future__ import annotations

import httpx


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a URL, as the page or callback receiving it would read them."""
    return dict(httpx.URL(url).params)
