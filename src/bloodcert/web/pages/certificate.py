"""A certificate page (/me/certificates/{no}): the paper layout with its QR code, downloads, show mode."""

from __future__ import annotations

import io
from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template
from markupsafe import Markup

from bloodcert.certs.render import QR_BORDER, CertificateView, qr_symbol
from bloodcert.services import history as svc
from bloodcert.web.auth import audit_read, donor
from bloodcert.web.pages.render import page, words_of
from bloodcert.web.state import AppState


def big_qr_svg(qr_text: str, label: str) -> Markup:
    """The QR code alone, black on white with its quiet zone, scaled by CSS to fill the screen."""
    buffer = io.BytesIO()
    qr_symbol(qr_text).save(
        buffer,
        kind="svg",
        border=QR_BORDER,
        dark="#000",
        light="#fff",
        xmldecl=False,
        svgns=True,
        svgclass="bigqr",
        lineclass=None,
        omitsize=True,
        title=label,
    )
    # segno writes only attributes (no style), so the strict CSP applies; the label is escaped by segno.
    return Markup(buffer.getvalue().decode("utf-8"))  # noqa: S704 - SVG written by segno from our own text


@get("/me/certificates/{certificate_no:str}", sync_to_thread=True, name="certificate")
def certificate_page(request: Request[Any, Any, Any], certificate_no: FromPath[str]) -> Template:
    """One of my certificates as the paper page shows it; `?show=1` is the large QR code for a verifier."""
    principal = donor(request)
    number = certificate_no[:20]
    with AppState.of(request).db.reading() as uow:
        cert = svc.certificate(uow, principal, number)
    audit_read(request, principal.actor, "read:certificate", number)
    view = CertificateView.of(cert.content, site_name=cert.site_name, qr=cert.qr, status=cert.status)
    show = request.query_params.get("show") == "1"
    context: dict[str, Any] = {"cert": cert, "view": view, "signed_in": True}
    if show:
        label = words_of(request)("show_qr_label", no=view.certificate_no)
        return page(request, "show.html", qr_svg=big_qr_svg(cert.qr, label), **context)
    # The paper layout is the API's own rendering (GET …/{no}.svg, same cookie), shown as an image so that
    # the page and the download are the same picture.
    return page(request, "certificate.html", **context)
