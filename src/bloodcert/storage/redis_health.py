"""When this process last failed to reach Redis (BLOODCERT_REDIS_URL).

Whatever keeps shared state in Redis falls back to something else while Redis cannot be reached (rate
limits: web/ratelimit.py; read-replica fences: storage/replica.py), and some of it must keep looking at
that fallback for a while after Redis is back. One note per process, whichever part saw the failure.
"""

from __future__ import annotations

import time

# After Redis failed, its users keep to their fallback this long before they try Redis again.
RETRY_S = 1.0

_lost_at: float | None = None


def lost() -> None:
    """Note that Redis could not be reached just now."""
    global _lost_at  # noqa: PLW0603 - one fact about this process
    _lost_at = time.monotonic()


def lost_within(seconds: float) -> bool:
    """True when this process failed to reach Redis in the last `seconds`."""
    return _lost_at is not None and time.monotonic() - _lost_at < seconds
