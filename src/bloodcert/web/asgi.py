"""The ASGI entry point that `bloodcert serve` hands to uvicorn (one app per worker process)."""

import sys

from bloodcert.web.app import create_app
from bloodcert.web.metrics import instrument

# A thread that holds SQLite's write turn gives up the GIL around every statement and must win it back from
# the worker's busy threads (signature checks, the event loop). At CPython's default 5 ms switch interval a
# dozen-statement claim then held the turn for tens of milliseconds while the other workers queued behind it;
# at 0.2 ms the turn lasts about as long as its statements. The price is more frequent switches between
# CPU-bound threads, a few per cent of their throughput.
SWITCH_INTERVAL_S = 0.0002
sys.setswitchinterval(SWITCH_INTERVAL_S)

app = instrument(create_app())
