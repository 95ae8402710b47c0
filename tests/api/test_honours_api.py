"""The donor's honours over HTTP: awards held and pending, the next award, volunteer hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from bloodcert.services import honours
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.api.test_donor_api import bearer, log_in, seed
from tests.factories import LI_LEI, create_station, make_record


def platelets_every_two_weeks(start: str, n: int, prefix: str) -> list[dict[str, Any]]:
    first = date.fromisoformat(start)
    return [
        make_record(
            donation_no=f"{prefix}{i:03d}",
            donated_at=f"{(first + timedelta(days=14 * i)).isoformat()}T09:00:00+08:00",
            kind="platelets",
            volume_ml=None,
            units=1,
        )
        for i in range(n)
    ]


def test_a_new_donor_has_no_awards_and_needs_bronze(
    client: TestClient, db: Database, signing: Signing
) -> None:  # type: ignore[type-arg]
    create_station(db)
    seed(db, signing, [make_record(donation_no="W1", donated_at="2024-03-01T09:00:00+08:00", volume_ml=400)])
    response = client.get(BASE + "/api/v1/me/honours", headers=bearer(log_in(client)))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    # 400 ml counts 2; in Hangzhou the national default converts 400 ml into 4 hours.
    body = response.json()
    assert {k: v for k, v in body.items() if k != "perks"} == {
        "awards": [],
        "count_toward_next": 2,
        "next": {"award": "bronze", "donations_needed": 18},
        "volunteer_hours": 4,
    }
    assert [(p["region_name"], p["reached"], p["next"]["tier"]) for p in body["perks"]] == [
        ("武汉市", [], "一级"),
        ("江苏省", [], "荣誉献血者"),
        ("青岛市", [], "荣誉献血者"),
    ]


def test_a_confirmed_gold_and_a_pending_candidate(client: TestClient, db: Database, signing: Signing) -> None:  # type: ignore[type-arg]
    create_station(db)
    seed(db, signing, platelets_every_two_weeks("2020-01-06", 40, "G"))
    seed(db, signing, platelets_every_two_weeks("2022-01-05", 5, "H"))
    seed(db, signing, [make_record(donation_no="L1", donor=LI_LEI)])
    with db.transaction() as uow:
        listed = honours.candidates(uow, "2020-2021")
        assert [(c.name, c.award, c.count) for c in listed] == [("王芳", "gold", 40)]
        decision = honours.Decision(listed[0].person_id, "2020-2021", "gold", True, None, "station:33000001")
        honours.decide(uow, decision, datetime.now(UTC))
    body = client.get(BASE + "/api/v1/me/honours", headers=bearer(log_in(client, donation_no="G000"))).json()
    assert body["awards"] == [{"award": "gold", "cycle": "2020-2021", "status": "confirmed"}]
    assert body["count_toward_next"] == 5
    assert body["next"] == {"award": "gold", "donations_needed": 35}
    assert body["volunteer_hours"] == 45 * 2


def test_honours_need_a_login(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get(BASE + "/api/v1/me/honours").status_code == 401


def test_the_history_page_says_how_many_more_donations_the_next_award_needs(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    create_station(db)
    seed(db, signing, [make_record(donation_no="W1", donated_at="2024-03-01T09:00:00+08:00", volume_ml=400)])
    headers = bearer(log_in(client))
    assert "再献 18 次可获奉献奖铜奖" in client.get(BASE + "/me", headers=headers).text
    page = client.get(BASE + "/me/honours", headers=headers).text
    assert "武汉市 · 一级" in page
    assert "志愿服务时长 4 小时" in page


def read_qr_image(qr_text: str) -> str:
    """Render the card's QR code as the donor's screen shows it and read it back with a real decoder."""
    import io

    import zxingcpp
    from PIL import Image

    from bloodcert.certs.render import qr_png

    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(qr_text, scale=6))))
    assert len(results) == 1
    return str(results[0].text)


def test_the_honour_card_read_from_its_qr_image_verifies_as_an_honour_card(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    create_station(db, region="420100")
    wuhan = {"name": "武汉站", "type": "fixed", "region": "420102"}
    seed(db, signing, [r | {"site": wuhan} for r in platelets_every_two_weeks("2020-01-06", 22, "G")])
    headers = bearer(log_in(client, donation_no="G000"))
    with db.transaction() as uow:
        (bronze,) = honours.candidates(uow, "2020-2021")
        decision = honours.Decision(bronze.person_id, "2020-2021", "bronze", True, None, "station:42000001")
        honours.decide(uow, decision, datetime.now(UTC))
    card = client.get(BASE + "/api/v1/me/honour-card", headers=headers)
    assert card.status_code == 200, card.text
    assert card.headers["cache-control"] == "no-store"
    scanned = read_qr_image(card.json()["qr"])
    assert scanned == card.json()["qr"]
    answer = client.post(BASE + "/api/v1/verify", json={"qr": scanned}).json()
    assert (answer["valid"], answer["reason"], answer["type"], answer["certificate"]) == (
        True,
        "ok",
        "honour",
        None,
    )
    assert answer["honour"]["holder_name"] == "王*"
    assert answer["honour"]["highest_award"] == "bronze"
    assert answer["honour"]["perks"] == ["武汉市 一级", "青岛市 荣誉献血者"]
    assert "110105" not in scanned and "王芳" not in str(answer)
    page = client.post(BASE + "/verify", data={"qr": scanned}).text
    assert "献血荣誉卡" in page and "奉献奖铜奖" in page


def test_a_re_issued_honour_card_makes_the_old_one_invalid(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    create_station(db)
    seed(db, signing, [make_record(donation_no="W1")])
    headers = bearer(log_in(client))
    old = client.get(BASE + "/api/v1/me/honour-card", headers=headers).json()["qr"]
    assert client.post(BASE + "/api/v1/verify", json={"qr": old}).json()["valid"] is True
    new = client.get(BASE + "/api/v1/me/honour-card", headers=headers).json()["qr"]
    stale = client.post(BASE + "/api/v1/verify", json={"qr": old}).json()
    assert (stale["valid"], stale["reason"], stale["type"]) == (False, "revoked", "honour")
    fresh = client.post(BASE + "/api/v1/verify", json={"qr": new}).json()
    assert (fresh["valid"], fresh["type"]) == (True, "honour")


def test_a_donation_certificate_still_verifies_as_a_donation(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    create_station(db)
    seed(db, signing, [make_record(donation_no="W1")])
    headers = bearer(log_in(client))
    number = client.get(BASE + "/api/v1/me/donations", headers=headers).json()["donations"][0][
        "certificate_no"
    ]
    qr = client.get(BASE + f"/api/v1/me/certificates/{number}", headers=headers).json()["qr"]
    answer = client.post(BASE + "/api/v1/verify", json={"qr": qr}).json()
    assert (answer["valid"], answer["type"], answer["honour"]) == (True, "donation", None)


def test_offline_the_card_verifies_until_it_expires_and_the_page_shows_it_full_screen(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    from bloodcert.certs.verify import verify_qr
    from bloodcert.services.verification import trust_list_from_db

    create_station(db)
    seed(db, signing, [make_record(donation_no="W1")])
    headers = bearer(log_in(client))
    page = client.get(BASE + "/me/honour-card", headers=headers)
    assert page.status_code == 200 and "<svg" in page.text and "献血荣誉卡" in page.text
    card = client.get(BASE + "/api/v1/me/honour-card", headers=headers).json()
    trust = trust_list_from_db(db, signing.issuer)
    now = datetime.now(UTC)
    # An offline verifier knows no serials: it has the signature and the card's short life to go on.
    fresh = verify_qr(card["qr"], trust, lambda *_: None, now)
    assert (fresh.valid, fresh.type) == (True, "honour")
    late = verify_qr(card["qr"], trust, lambda *_: None, now + honours.CARD_VALIDITY + timedelta(minutes=1))
    assert (late.valid, late.reason, late.type) == (False, "expired", "honour")


def test_volunteer_hours_export_in_the_registry_columns(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    import csv
    import io

    create_station(db, region="610500")
    weinan = {"name": "渭南献血屋", "type": "fixed", "region": "610502"}
    seed(db, signing, [make_record(donation_no="W1", donated_at="2023-03-01T09:00:00+08:00", site=weinan)])
    seed(db, signing, [make_record(donation_no="W2", donated_at="2024-03-01T09:00:00+08:00", volume_ml=200)])
    response = client.get(BASE + "/api/v1/me/volunteer-hours.csv", headers=bearer(log_in(client)))
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["姓名", "证件号码", "服务日期", "服务项目", "服务时长（小时）", "服务地点", "献血编号"]
    # 400 ml in 渭南 is 6 hours by its own table; 200 ml in 杭州 2 hours by the national default.
    assert [(r[0], r[1], r[2], r[4], r[6]) for r in rows[1:]] == [
        ("王芳", "330***********1221", "2023-03-01", "6", "W1"),
        ("王芳", "330***********1221", "2024-03-01", "2", "W2"),
    ]


def test_perk_tiers_reached_say_what_they_unlock_and_which_tier_is_next(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    create_station(db)
    # 25 donations of 400 ml: 10,000 ml of whole blood and 25 donations.
    seed(
        db,
        signing,
        [
            make_record(donation_no=f"W{i:02d}", donated_at=f"{2000 + i}-03-01T09:00:00+08:00", volume_ml=400)
            for i in range(25)
        ],
    )
    body = client.get(BASE + "/api/v1/me/honours", headers=bearer(log_in(client, donation_no="W00"))).json()
    wuhan, jiangsu, qingdao = body["perks"]
    # Wuhan: 1,000 / 3,000 / 4,000 ml or 20 / 30 / 40 donations; any one condition reaches a tier.
    assert wuhan["region"] == "4201"
    assert [t["tier"] for t in wuhan["reached"]] == ["一级", "二级", "三级"]
    assert wuhan["reached"][2]["unlocks"] == ["免费乘坐市内公共交通"]
    assert wuhan["reached"][2]["any_of"] == {
        "whole_blood_ml": 4000,
        "donations": 40,
        "volunteer_hours": None,
        "award": None,
    }
    assert wuhan["next"] is None
    assert [t["tier"] for t in jiangsu["reached"]] == ["荣誉献血者"]
    # Qingdao asks for a national award a station has confirmed: the bronze is still a candidate.
    assert qingdao["reached"] == []
    assert qingdao["next"]["any_of"]["award"] == "bronze"
    assert qingdao["next"]["unlocks"] == ["免费游览政府投资的景区", "免费乘坐公交和地铁"]


# The conversion tables written out again on their own (渭南's published table and the national default),
# with the RhD-negative scale: (whole blood ml → hours, hours per platelet unit).
WEINAN = ({200: 2, 300: 4, 400: 6}, 2)
NATIONAL = ({200: 2, 300: 3, 400: 4}, 2)
RARE = ({200: 3, 300: 5, 400: 8}, 2)


def expected_hours(record: dict[str, Any], rare: bool = False) -> tuple[str, int]:
    """(table, hours) of one record, by the table of the city where it was given."""
    weinan = record["site"]["region"].startswith("6105")
    whole, platelet = RARE if rare else WEINAN if weinan else NATIONAL
    hours = whole[record["volume_ml"]] if record["kind"] == "whole_blood" else platelet * record["units"]
    return ("渭南市" if weinan else "全国（默认）"), hours


def test_the_volunteer_hours_statement_pdf_has_a_qr_that_verifies_as_hours(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
    settings: Any,
    tmp_path: Any,
) -> None:
    import csv
    import io

    from typer.testing import CliRunner

    from bloodcert.certs.documents import root_fingerprint
    from bloodcert.cli import app
    from tests.api.test_verify_api import _export
    from tests.conftest import INDEX_KEY
    from tests.unit.test_statement import qr_codes_in_pdf

    create_station(db)
    create_station(db, "61050001", region="610500")
    weinan = {"name": "渭南献血屋", "type": "fixed", "region": "610502"}
    records = [
        make_record(donation_no="W1", donated_at="2023-03-01T09:00:00+08:00", site=weinan),
        make_record(donation_no="W2", donated_at="2024-03-01T09:00:00+08:00", volume_ml=300),
        make_record(
            donation_no="P1",
            donated_at="2024-06-01T09:00:00+08:00",
            kind="platelets",
            volume_ml=None,
            units=2,
        ),
    ]
    seed(db, signing, records[:1], code="61050001")
    seed(db, signing, records[1:])
    seed(db, signing, [make_record(donation_no="L1", donor=LI_LEI)])
    expected = [expected_hours(r) for r in records]
    total = sum(h for _, h in expected)
    headers = bearer(log_in(client, donation_no="W2"))

    assert client.get(BASE + "/api/v1/me/volunteer-hours.pdf").status_code == 401
    response = client.get(BASE + "/api/v1/me/volunteer-hours.pdf", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    (scanned,) = qr_codes_in_pdf(response.content)
    assert "330106199001011221" not in scanned

    answer = client.post(BASE + "/api/v1/verify", json={"qr": scanned}).json()
    assert (answer["valid"], answer["reason"], answer["type"], answer["certificate"]) == (
        True,
        "ok",
        "hours",
        None,
    )
    statement = answer["hours"]
    assert (statement["holder_name"], statement["id_number_masked"]) == ("王芳", "330***********1221")
    assert (statement["hours"], statement["donations"]) == (total, 3) == (6 + 3 + 4, 3)
    assert (statement["first_on"], statement["last_on"]) == ("2023-03-01", "2024-06-01")
    by_table: dict[str, list[int]] = {}
    for table, hours in expected:
        by_table.setdefault(table, [0, 0])
        by_table[table][0] += 1
        by_table[table][1] += hours
    assert statement["tables"] == [{"table": t, "donations": n, "hours": h} for t, (n, h) in by_table.items()]

    # The CSV for the registry gives each donation the same hours.
    exported = client.get(BASE + "/api/v1/me/volunteer-hours.csv", headers=headers)
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == ["姓名", "证件号码", "服务日期", "服务项目", "服务时长（小时）", "服务地点", "献血编号"]
    assert [(r[2], int(r[4]), r[6]) for r in rows[1:]] == [
        (r["donated_at"][:10], h, r["donation_no"]) for r, (_, h) in zip(records, expected, strict=True)
    ]
    assert [r[3] for r in rows[1:]] == ["无偿献血（全血）", "无偿献血（全血）", "无偿献血（单采血小板）"]

    page = client.post(BASE + "/verify", data={"qr": scanned}).text
    assert "无偿献血志愿服务时长证明" in page and "渭南市" in page

    # Offline, with the exported trust list, the command-line verifier reads it too.
    now = datetime.now(UTC)
    path = _export(db, signing, settings, tmp_path / "export", now)
    with db.reading() as uow:
        root = uow.certificates.active_key("root")
    assert root is not None
    env = {
        "BLOODCERT_DATABASE_URL": db.url,
        "BLOODCERT_DATA_DIR": str(tmp_path / "var"),
        "BLOODCERT_INDEX_KEY": INDEX_KEY.hex(),
        "BLOODCERT_ROOT_KEY_SHA256": root_fingerprint(root.public_key_pem),
    }
    offline = CliRunner().invoke(app, ["verify", scanned, "--trust-list", str(path)], env=env)
    assert offline.exit_code == 0, offline.output
    assert offline.output.splitlines()[0] == "valid"
    assert f"volunteer hours statement  王芳 330***********1221  {total} h  3 donations" in offline.output


def test_an_rhd_negative_donor_s_statement_uses_the_rare_type_scale(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    from tests.unit.test_statement import qr_codes_in_pdf

    create_station(db)
    record = make_record(donation_no="L1", donor=LI_LEI)
    seed(db, signing, [record])
    headers = bearer(log_in(client, donor=LI_LEI, donation_no="L1"))
    (scanned,) = qr_codes_in_pdf(client.get(BASE + "/api/v1/me/volunteer-hours.pdf", headers=headers).content)
    statement = client.post(BASE + "/api/v1/verify", json={"qr": scanned}).json()["hours"]
    assert (
        (statement["holder_name"], statement["hours"])
        == ("李雷", expected_hours(record, rare=True)[1])
        == (
            "李雷",
            8,
        )
    )


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_statements_count_against_the_render_limit_and_the_csv_does_not(
    settings: Any, db: Database, signing: Signing
) -> None:
    from tests.api.test_render_limits import _app

    create_station(db)
    seed(db, signing, [make_record(donation_no="W1")])
    with TestClient(_app(settings, db, render_session="2/minute"), base_url=BASE) as client:
        token = log_in(client)
        client.cookies.clear()
        pdf = BASE + "/api/v1/me/volunteer-hours.pdf"
        assert [client.get(pdf, headers=bearer(token)).status_code for _ in range(3)] == [200, 200, 429]
        csv = BASE + "/api/v1/me/volunteer-hours.csv"
        assert [client.get(csv, headers=bearer(token)).status_code for _ in range(3)] == [200, 200, 200]
