"""The ASGI entry point that `bloodcert serve` hands to uvicorn (one app per worker process)."""

from bloodcert.web.app import create_app
from bloodcert.web.metrics import instrument

app = instrument(create_app())
