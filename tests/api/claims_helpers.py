"""Documents, donors with donations in two provinces, and the calls of online claims."""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image

from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.api.hospital_helpers import donation, report
from tests.factories import WANG_FANG, StationKey, create_station

ME_CLAIMS = BASE + "/api/v1/me/claims"
ME_RELATIVES = BASE + "/api/v1/me/relatives"
STATION_CLAIMS = BASE + "/api/v1/station/claims"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
# 王芳's father: a valid resident ID of someone who never donated.
FATHER = {
    "name": "王建国",
    "id_type": "resident_id",
    "id_number": "330106196203150015",
    "relationship": "parent",
}


def image(fmt: str) -> bytes:
    """A small real PNG or JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def two_provinces(db: Database, signing: Signing) -> tuple[StationKey, StationKey]:
    """王芳 with 200 ml in Zhejiang (self pool 1000 ml) and, later, 200 ml in Jiangsu (self pool 600 ml)."""
    zhejiang = create_station(db, "33000001", region="330000")
    jiangsu = create_station(db, "32000001", region="320000")
    report(db, signing, zhejiang, donation("Z1"))
    report(db, signing, jiangsu, donation("J1", donated_at="2024-11-02T09:30:00+08:00"))
    return zhejiang, jiangsu


def log_in(client: Any, donation_no: str = "Z1", donor: dict[str, Any] | None = None) -> dict[str, str]:
    """A donor's Bearer header, from the web login."""
    who = donor or WANG_FANG
    body = {k: who[k] for k in ("id_type", "id_number", "name")} | {"donation_no": donation_no}
    response = client.post(BASE + "/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def claim_part(invoice_no: str = "INV-9", **overrides: Any) -> dict[str, Any]:
    """A claim for 王芳's own 1200 ml of red cells (1,200 元) at a hospital the platform does not know."""
    part: dict[str, Any] = {
        "beneficiary": "self",
        "hospital_name": "上海市某民营医院",
        "hospital_region": "310104",
        "invoice_no": invoice_no,
        "transfused_at": "2025-06-01",
        "items": [{"component": "red_cells", "volume_ml": 1200, "units": None, "amount_fen": 120000}],
    }
    part.update(overrides)
    return part


def file_claim(
    client: Any,
    headers: dict[str, str],
    part: dict[str, Any],
    files: list[tuple[str, str, bytes]] | None = None,
) -> Any:
    """POST /api/v1/me/claims as multipart: the claim part and (field, filename, content) files."""
    files = (
        files
        if files is not None
        else [("invoice", "invoice.pdf", PDF), ("itemised_bill", "bill.png", image("PNG"))]
    )
    multipart = [("claim", (None, json.dumps(part, ensure_ascii=False), "application/json"))]
    multipart += [(field, (name, content, "application/octet-stream")) for field, name, content in files]
    return client.post(ME_CLAIMS, headers=headers, files=multipart)


def register_relative(client: Any, headers: dict[str, str], relative: dict[str, str] | None = None) -> Any:
    """POST /api/v1/me/relatives with a PDF proof."""
    multipart = [
        ("relative", (None, json.dumps(relative or FATHER, ensure_ascii=False), "application/json")),
        ("proof", ("hukou.pdf", PDF, "application/pdf")),
    ]
    return client.post(ME_RELATIVES, headers=headers, files=multipart)
