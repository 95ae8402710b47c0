"""The donor's blood-fee waiver page (/me/entitlements, 用血权益), linked from the history."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from bloodcert.web.api.entitlements import read_entitlements
from bloodcert.web.pages.render import page


@get("/me/entitlements", sync_to_thread=True, name="entitlements")
def entitlements_page(request: Request[Any, Any, Any]) -> Template:
    """Each donating province's pools, what is left, the rule, and every waiver drawn on them."""
    return page(request, "entitlements.html", result=read_entitlements(request), signed_in=True)
