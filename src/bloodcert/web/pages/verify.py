"""The public verifier (/verify): paste, photograph or scan a `BC1:` code; valid, or the reason. No login."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from bloodcert.domain.clock import BEIJING
from bloodcert.web.pages.render import page
from bloodcert.web.state import AppState

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
MAX_QR = 4096  # as POST /api/v1/verify: far longer than any certificate's code
LINE_BREAKS = str.maketrans("", "", "\r\n\t")


@get("/verify", sync_to_thread=False, name="verify")
def verify_page(request: Request[Any, Any, Any]) -> Template:
    """The verifier's form; the camera and photo buttons appear when JavaScript runs."""
    return page(request, "verify.html", qr="", result=None, empty=False)


@post(
    "/verify",
    sync_to_thread=False,
    status_code=200,
    # A public, stateless check with no cookie behind it: nothing for a forged request to abuse.
    opt={"exclude_from_csrf": True},
)
def verify_submit(request: Request[Any, Any, Any], data: FormBody) -> Template:
    """Verify the posted `qr` text, as POST /api/v1/verify does, and show the answer in plain words."""
    raw = data.get("qr", "")
    text = (raw[0] if isinstance(raw, list) and raw else raw) if raw else ""
    # Base45 has a space in its alphabet, so only line breaks (a code pasted across lines) are dropped.
    qr = str(text).translate(LINE_BREAKS).lstrip()[: MAX_QR + 1]
    if not qr:
        return page(request, "verify.html", qr="", result=None, empty=True)
    result = AppState.of(request).verifier.verify(qr)
    return page(request, "verify.html", qr=qr, result=result, empty=False, beijing=BEIJING)
