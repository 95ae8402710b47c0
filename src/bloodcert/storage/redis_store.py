"""Shared short-lived state in Redis, when `BLOODCERT_REDIS_URL` is set (nonces now; rate limits later)."""

from __future__ import annotations

from datetime import datetime

import redis


class RedisNonceStore:
    """Replay protection across workers and machines: SET NX with an expiry of the signature window."""

    def __init__(self, url: str, *, ttl_s: int, prefix: str = "bloodcert:nonce:") -> None:
        self.client = redis.Redis.from_url(url)
        # Twice the window: a nonce must outlive every signature that could still carry it.
        self.ttl_s = 2 * ttl_s
        self.prefix = prefix

    def remember(self, key_id: str, nonce: str, now: datetime) -> bool:
        """Record a nonce; False when this key already used it (a replay)."""
        return bool(self.client.set(f"{self.prefix}{key_id}:{nonce}", b"1", nx=True, ex=self.ttl_s))
