"""Donor login and the national history over HTTP: personas, every auth failure, captcha, filters."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update

from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import Submission, ingest, report_donations
from bloodcert.services.synthetic import Generator
from bloodcert.storage.tables import audit_log, certificates, donor_sessions
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.conftest import INDEX_KEY
from tests.factories import LI_LEI, WANG_FANG, create_station, make_record, report_records, signed_headers

WANG_ID = WANG_FANG["id_number"]


seed = report_records


def wang_history() -> list[dict[str, Any]]:
    return [
        make_record(donation_no="W1", donated_at="2023-03-01T09:00:00+08:00", volume_ml=400),
        make_record(
            donation_no="W2",
            donated_at="2024-05-01T09:00:00+08:00",
            volume_ml=300,
            site={"name": "北京站", "type": "fixed", "region": "110105"},
        ),
        make_record(
            donation_no="W3",
            donated_at="2024-11-20T09:00:00+08:00",
            kind="platelets",
            volume_ml=None,
            units=2,
        ),
    ]


def login_body(donor: dict[str, Any] = WANG_FANG, donation_no: str = "W1", **extra: Any) -> dict[str, Any]:
    return {
        "id_type": donor["id_type"],
        "id_number": donor["id_number"],
        "name": donor["name"],
        "donation_no": donation_no,
        **extra,
    }


def log_in(client: TestClient, **kwargs: Any) -> str:  # type: ignore[type-arg]
    response = client.post(BASE + "/api/v1/auth/login", json=login_body(**kwargs))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def wang(db: Database, signing: Signing) -> None:
    create_station(db)
    seed(db, signing, wang_history())
    seed(db, signing, [make_record(donation_no="L1", donor=LI_LEI)])


@pytest.mark.usefixtures("wang")
class TestLogin:
    def test_login_gives_a_token_and_a_secure_http_only_cookie(self, client: TestClient) -> None:  # type: ignore[type-arg]
        response = client.post(BASE + "/api/v1/auth/login", json=login_body())
        assert response.status_code == 200
        body = response.json()
        assert len(body["access_token"]) >= 22 and body["expires_in"] == 1800
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
        assert response.headers["cache-control"] == "no-store"

    def test_any_one_donation_number_works_with_full_width_digits_and_spaces(
        self, client: TestClient
    ) -> None:  # type: ignore[type-arg]
        donor = {**WANG_FANG, "id_number": "３３０１０６ １９９００１０１ １２２１", "name": " 王 芳 "}
        assert log_in(client, donor=donor, donation_no="W3")

    @pytest.mark.parametrize(
        "change",
        [
            {"name": "王方"},
            {"donation_no": "L1"},
            {"donation_no": "nope"},
            {"id_number": "110105198503150043"},
            {"id_type": "passport"},
            {"id_type": "not-a-type"},
        ],
    )
    def test_every_failure_is_the_same_401(self, client: TestClient, change: dict[str, str]) -> None:  # type: ignore[type-arg]
        response = client.post(BASE + "/api/v1/auth/login", json={**login_body(), **change})
        assert response.status_code == 401
        body = response.json()
        assert (body["type"], body["detail"]) == (
            "login_failed",
            "the details do not match a donation record",
        )
        assert WANG_ID not in response.text

    def test_a_captcha_is_required_after_three_failures_and_is_single_use(
        self,
        client: TestClient,
        monkeypatch: pytest.MonkeyPatch,  # type: ignore[type-arg]
    ) -> None:
        for _ in range(3):
            assert (
                client.post(BASE + "/api/v1/auth/login", json=login_body(donation_no="x")).status_code == 401
            )
        blocked = client.post(BASE + "/api/v1/auth/login", json=login_body())
        assert (blocked.status_code, blocked.json()["type"]) == (428, "captcha_required")
        monkeypatch.setattr("bloodcert.identity.captcha.new_answer", lambda: "K7TA")
        issued = client.post(BASE + "/api/v1/auth/captcha").json()
        assert issued["image"].startswith("data:image/png;base64,")
        wrong = client.post(
            BASE + "/api/v1/auth/login",
            json=login_body(captcha_id=issued["captcha_id"], captcha_answer="XXXX"),
        )
        assert wrong.status_code == 428
        # Any attempt used the captcha up: the right answer no longer opens it.
        reused = client.post(
            BASE + "/api/v1/auth/login",
            json=login_body(captcha_id=issued["captcha_id"], captcha_answer="K7TA"),
        )
        assert reused.status_code == 428
        fresh = client.post(BASE + "/api/v1/auth/captcha").json()
        ok = client.post(
            BASE + "/api/v1/auth/login",
            json=login_body(captcha_id=fresh["captcha_id"], captcha_answer=" k7ta "),
        )
        assert ok.status_code == 200

    def test_failures_for_one_id_number_require_a_captcha_from_any_client(self, client: TestClient) -> None:  # type: ignore[type-arg]
        for _ in range(3):
            client.post(
                BASE + "/api/v1/auth/login",
                json=login_body(donation_no="x"),
                headers={"X-Forwarded-For": "10.0.0.1"},
            )
        assert client.post(BASE + "/api/v1/auth/login", json=login_body()).status_code == 428


@pytest.mark.usefixtures("wang")
def test_a_cross_site_text_plain_form_cannot_log_a_browser_in(client: TestClient) -> None:  # type: ignore[type-arg]
    # What <form enctype="text/plain"> sends: JSON-looking text, with no CORS preflight.
    forged = json.dumps(login_body())[:-1] + ', "x": "="}'
    for media_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = client.post(
            BASE + "/api/v1/auth/login", content=forged.encode(), headers={"Content-Type": media_type}
        )
        assert (response.status_code, response.json()["type"]) == (415, "unsupported_media_type"), media_type
        assert "bloodcert_session" not in client.cookies
    ok = client.post(
        BASE + "/api/v1/auth/login",
        content=json.dumps(login_body()).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 200


def test_an_expired_captcha_is_refused(db: Database, wang: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from bloodcert.services import sessions
    from bloodcert.services.donor_login import Credentials, log_in, refusal
    from tests.factories import login_context

    monkeypatch.setattr("bloodcert.identity.captcha.new_answer", lambda: "K7TA")
    now = datetime.now(UTC)
    ctx = login_context(now, "1.2.3.4")
    creds = Credentials("resident_id", WANG_ID, "王芳", "x")
    with db.transaction() as uow:
        for _ in range(3):
            log_in(uow, ctx, creds)
        captcha_id = sessions.issue_captcha(uow, ctx).captcha_id
    late = Credentials("resident_id", WANG_ID, "王芳", "W1", captcha_id, "K7TA")
    with db.transaction() as uow:
        outcome = log_in(uow, login_context(now + timedelta(seconds=121), "1.2.3.4"), late)
    assert outcome.grant is None and refusal(outcome).slug == "captcha_required"


@pytest.mark.usefixtures("wang")
class TestSessions:
    def test_a_missing_token_is_401(self, client: TestClient) -> None:  # type: ignore[type-arg]
        response = client.get(BASE + "/api/v1/me")
        assert (response.status_code, response.json()["type"]) == (401, "unauthorized")

    def test_a_tampered_token_is_401(self, client: TestClient) -> None:  # type: ignore[type-arg]
        token = log_in(client)
        tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        client.cookies.clear()
        assert client.get(BASE + "/api/v1/me", headers=bearer(tampered)).status_code == 401

    def test_logout_ends_the_session_on_the_server(self, client: TestClient) -> None:  # type: ignore[type-arg]
        token = log_in(client)
        client.cookies.clear()
        assert client.get(BASE + "/api/v1/me", headers=bearer(token)).status_code == 200
        assert client.post(BASE + "/api/v1/auth/logout", headers=bearer(token)).status_code == 204
        assert client.get(BASE + "/api/v1/me", headers=bearer(token)).status_code == 401

    def test_an_idle_session_expires_after_30_minutes(self, client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
        token = log_in(client)
        client.cookies.clear()
        with db.transaction() as uow:
            uow.conn.execute(
                update(donor_sessions).values(
                    last_seen_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=31)
                )
            )
        assert client.get(BASE + "/api/v1/me", headers=bearer(token)).status_code == 401

    def test_a_session_ends_after_12_hours_however_active(self, client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
        token = log_in(client)
        client.cookies.clear()
        with db.transaction() as uow:
            uow.conn.execute(
                update(donor_sessions).values(
                    expires_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
                )
            )
        assert client.get(BASE + "/api/v1/me", headers=bearer(token)).status_code == 401

    def test_the_cookie_alone_authenticates(self, client: TestClient) -> None:  # type: ignore[type-arg]
        token = log_in(client)
        # The cookie is Secure, so the test client (plain http) does not send it back by itself.
        client.cookies.clear()
        assert (
            client.get(BASE + "/api/v1/me", headers={"Cookie": f"bloodcert_session={token}"}).status_code
            == 200
        )


@pytest.mark.usefixtures("wang")
class TestHistory:
    def test_me_shows_the_masked_id_and_lifetime_totals(self, client: TestClient) -> None:  # type: ignore[type-arg]
        response = client.get(BASE + "/api/v1/me", headers=bearer(log_in(client)))
        body = response.json()
        assert response.headers["cache-control"] == "no-store"
        assert body["id_number_masked"] == "330***********1221"
        assert WANG_ID not in response.text
        assert body["summary"]["count"] == 3
        assert (body["summary"]["whole_blood_ml"], body["summary"]["platelet_units"]) == (700, 2)
        assert body["abo"] == "A" and body["under_review"] is False

    def test_donations_are_newest_first_with_station_and_region_names(self, client: TestClient) -> None:  # type: ignore[type-arg]
        body = client.get(BASE + "/api/v1/me/donations", headers=bearer(log_in(client))).json()
        assert [d["donation_no"] for d in body["donations"]] == ["W3", "W2", "W1"]
        beijing = body["donations"][1]
        assert beijing["site"]["region_name"] == "北京市朝阳区"
        assert beijing["station"]["code"] == "33000001"
        assert beijing["donated_at"].endswith("+08:00")

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("from=2024-01-01", ["W3", "W2"]),
            ("to=2024-05-01", ["W2", "W1"]),
            ("region=11", ["W2"]),
            ("region=3301", ["W3", "W1"]),
            ("region=110105", ["W2"]),
            ("from=2024-06-01&to=2024-12-31", ["W3"]),
        ],
    )
    def test_filters_by_date_and_region(self, client: TestClient, query: str, expected: list[str]) -> None:  # type: ignore[type-arg]
        body = client.get(BASE + f"/api/v1/me/donations?{query}", headers=bearer(log_in(client))).json()
        assert [d["donation_no"] for d in body["donations"]] == expected
        assert body["summary"]["count"] == len(expected)

    def test_groups_by_year_and_province(self, client: TestClient) -> None:  # type: ignore[type-arg]
        token = log_in(client)
        years = client.get(BASE + "/api/v1/me/donations?group_by=year", headers=bearer(token)).json()[
            "groups"
        ]
        assert [(g["key"], g["count"], g["whole_blood_ml"], g["platelet_units"]) for g in years] == [
            ("2024", 2, 300, 2),
            ("2023", 1, 400, 0),
        ]
        provinces = client.get(BASE + "/api/v1/me/donations?group_by=province", headers=bearer(token)).json()
        assert [(g["key"], g["label"], g["count"]) for g in provinces["groups"]] == [
            ("33", "浙江省", 2),
            ("11", "北京市", 1),
        ]

    @pytest.mark.parametrize(
        "query", ["region=abc", "region=331", "from=2024-13-01", "to=yesterday", "group_by=month"]
    )
    def test_malformed_filters_are_400_with_field_errors(self, client: TestClient, query: str) -> None:  # type: ignore[type-arg]
        response = client.get(BASE + f"/api/v1/me/donations?{query}", headers=bearer(log_in(client)))
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"]

    @pytest.mark.parametrize("query", ["region=99", "region=330199", "from=2025-01-01&to=2024-01-01"])
    def test_well_formed_filters_that_match_nothing_give_an_empty_history(
        self, client: TestClient, query: str
    ) -> None:  # type: ignore[type-arg]
        body = client.get(BASE + f"/api/v1/me/donations?{query}", headers=bearer(log_in(client))).json()
        assert body["donations"] == []
        assert body["summary"]["count"] == 0

    def test_a_certificate_of_mine_has_its_qr_and_it_verifies(self, client: TestClient) -> None:  # type: ignore[type-arg]
        token = log_in(client)
        number = client.get(BASE + "/api/v1/me/donations", headers=bearer(token)).json()["donations"][0][
            "certificate_no"
        ]
        cert = client.get(BASE + f"/api/v1/me/certificates/{number}", headers=bearer(token))
        assert cert.headers["cache-control"] == "no-store"
        body = cert.json()
        assert body["certificate_no"] == number and body["qr"].startswith("BC1:")
        assert body["id_number_masked"] == "330***********1221" and WANG_ID not in cert.text
        verdict = client.post(BASE + "/api/v1/verify", json={"qr": body["qr"]}).json()
        assert (verdict["valid"], verdict["reason"]) == (True, "ok")

    def test_another_persons_certificate_is_404(self, client: TestClient) -> None:  # type: ignore[type-arg]
        li_token = log_in(client, donor=LI_LEI, donation_no="L1")
        wang_token = log_in(client)
        client.cookies.clear()
        wang_cert = client.get(BASE + "/api/v1/me/donations", headers=bearer(wang_token)).json()["donations"][
            0
        ]["certificate_no"]
        response = client.get(BASE + f"/api/v1/me/certificates/{wang_cert}", headers=bearer(li_token))
        assert response.status_code == 404
        missing = client.get(BASE + "/api/v1/me/certificates/2026000000009999", headers=bearer(li_token))
        assert (missing.status_code, missing.json()["type"]) == (404, response.json()["type"])

    def test_a_certificate_renders_as_svg_and_pdf_for_its_holder_only(self, client: TestClient) -> None:  # type: ignore[type-arg]
        li_token = log_in(client, donor=LI_LEI, donation_no="L1")
        token = log_in(client)
        client.cookies.clear()
        number = client.get(BASE + "/api/v1/me/donations", headers=bearer(token)).json()["donations"][0][
            "certificate_no"
        ]
        svg = client.get(BASE + f"/api/v1/me/certificates/{number}.svg", headers=bearer(token))
        assert svg.headers["content-type"].startswith("image/svg+xml") and number in svg.text
        assert svg.headers["cache-control"] == "no-store"
        pdf = client.get(BASE + f"/api/v1/me/certificates/{number}.pdf", headers=bearer(token))
        assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
        assert (
            client.get(BASE + f"/api/v1/me/certificates/{number}.svg", headers=bearer(li_token)).status_code
            == 404
        )
        assert (
            client.get(BASE + f"/api/v1/me/certificates/{number}.png", headers=bearer(token)).status_code
            == 404
        )

    def test_one_donor_never_sees_the_others_data(self, client: TestClient) -> None:  # type: ignore[type-arg]
        li_token = log_in(client, donor=LI_LEI, donation_no="L1")
        client.cookies.clear()
        body = client.get(BASE + "/api/v1/me/donations", headers=bearer(li_token))
        assert [d["donation_no"] for d in body.json()["donations"]] == ["L1"]
        assert "王芳" not in body.text and "330***" not in body.text

    def test_every_read_is_audited_without_id_numbers(self, client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
        token = log_in(client)
        client.get(BASE + "/api/v1/me", headers=bearer(token))
        client.get(BASE + "/api/v1/me/donations", headers=bearer(token))
        with db.reading() as uow:
            rows = [dict(r._mapping) for r in uow.conn.execute(select(audit_log))]
        assert {r["action"] for r in rows} >= {"login", "read:me", "read:donations"}
        assert all(r["client"] for r in rows)
        assert WANG_ID not in json.dumps(rows, default=str)


def test_a_record_is_visible_to_its_donor_right_after_the_stations_200(
    client: TestClient,
    db: Database,  # type: ignore[type-arg]
) -> None:
    key = create_station(db)
    url = BASE + "/api/v1/station/donations"
    body = json.dumps({"records": [make_record(donation_no="F1")]}).encode()
    assert client.post(url, content=body, headers=signed_headers(key, "POST", url, body)).status_code == 200
    token = log_in(client, donation_no="F1")
    donations = client.get(BASE + "/api/v1/me/donations", headers=bearer(token)).json()["donations"]
    assert [d["donation_no"] for d in donations] == ["F1"]


def test_an_identity_conflict_is_under_review_and_shows_only_the_person_of_the_donation_number(
    client: TestClient,
    db: Database,
    signing: Signing,  # type: ignore[type-arg]
) -> None:
    create_station(db)
    seed(
        db,
        signing,
        [
            make_record(donation_no="C1"),
            make_record(donation_no="C2", donor={"abo": "B"}, donated_at="2025-01-01T09:00:00+08:00"),
            make_record(donation_no="C3", donor={"name": "王方"}, donated_at="2025-06-01T09:00:00+08:00"),
        ],
    )
    token = log_in(client, donation_no="C1")
    client.cookies.clear()
    me = client.get(BASE + "/api/v1/me", headers=bearer(token)).json()
    assert me["under_review"] is True and me["abo"] == "A"
    donations = client.get(BASE + "/api/v1/me/donations", headers=bearer(token)).json()["donations"]
    assert [d["donation_no"] for d in donations] == ["C1"]  # never C2 (another ABO) nor 王方's C3
    assert all(d["under_review"] for d in donations)
    page = client.get(BASE + "/me", headers=bearer(token))
    assert page.status_code == 200 and "血液中心" in page.text  # what to do about it


def test_a_station_that_reports_under_someone_elses_id_cannot_read_their_history(
    client: TestClient,
    db: Database,
    signing: Signing,  # type: ignore[type-arg]
) -> None:
    create_station(db)
    create_station(db, "11000001", region="110000")
    seed(
        db,
        signing,
        [
            make_record(donation_no="W1"),
            make_record(donation_no="W2", donated_at="2024-05-01T09:00:00+08:00"),
        ],
    )
    with db.transaction() as uow:
        real = uow.conn.execute(select(certificates.c.certificate_no)).scalars().all()
    # Another station reports a record under 王芳's ID type + number + name with another ABO type.
    with db.transaction() as uow:
        rogue = uow.stations.get_by_code("11000001")
        assert rogue is not None
        [result] = report_donations(
            uow,
            station=rogue,
            records=[make_record(donation_no="X9", donor={"abo": "O"})],
            index_key=INDEX_KEY,
            signing=signing,
            now=datetime.now(UTC),
        )
    assert result.outcome == "created" and "identity_conflict" in [w.code for w in result.warnings]
    token = log_in(client, donation_no="X9")
    client.cookies.clear()
    donations = client.get(BASE + "/api/v1/me/donations", headers=bearer(token)).json()["donations"]
    assert [d["donation_no"] for d in donations] == ["X9"]
    me = client.get(BASE + "/api/v1/me", headers=bearer(token)).json()
    assert me["under_review"] is True and me["summary"]["count"] == 1
    for number in real:
        response = client.get(BASE + f"/api/v1/me/certificates/{number}", headers=bearer(token))
        assert response.status_code == 404


def test_groups_match_sums_computed_independently_over_generated_data(
    client: TestClient,
    db: Database,
    signing: Signing,  # type: ignore[type-arg]
) -> None:
    with db.transaction() as uow:
        from bloodcert.services.stations import seed_builtin_stations

        seed_builtin_stations(uow, datetime.now(UTC))
        stations = {s.code: s for s in uow.stations.all()}
    records = list(Generator(seed=11).records(40))
    with db.transaction() as uow:
        ingest(
            uow,
            [Submission(stations[r["station"]], r) for r in records],
            index_key=INDEX_KEY,
            signing=signing,
            now=datetime.now(UTC),
            source="import",
        )
    by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_person[r["donor"]["id_number"]].append(r)
    mine = max(by_person.values(), key=len)
    donor = mine[0]["donor"]
    token = log_in(client, donor=donor, donation_no=mine[-1]["donation_no"])
    client.cookies.clear()
    expected_years: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    expected_provinces: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in mine:
        for bucket in (expected_years[r["donated_at"][:4]], expected_provinces[r["site"]["region"][:2]]):
            bucket[0] += 1
            bucket[1] += r["volume_ml"] or 0 if r["kind"] == "whole_blood" else 0
            bucket[2] += r["units"] or 0 if r["kind"] == "platelets" else 0
            bucket[3] += r["volume_ml"] or 0 if r["kind"] == "plasma" else 0
    for by, expected in (("year", expected_years), ("province", expected_provinces)):
        groups = client.get(BASE + f"/api/v1/me/donations?group_by={by}", headers=bearer(token)).json()[
            "groups"
        ]
        got = {
            g["key"]: [g["count"], g["whole_blood_ml"], g["platelet_units"], g["plasma_ml"]] for g in groups
        }
        assert got == dict(expected)
    year = next(iter(expected_years))
    filtered = client.get(
        BASE + f"/api/v1/me/donations?from={year}-01-01&to={year}-12-31", headers=bearer(token)
    ).json()
    assert filtered["summary"]["count"] == expected_years[year][0]


def test_access_control_failures_are_audited(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    client.get(BASE + "/api/v1/me")
    client.get(BASE + "/api/v1/me/donations", headers=bearer("forged-token"))
    client.app.state["bloodcert"].audit.end_refusal_windows()
    with db.reading() as uow:
        rows = [
            dict(r._mapping)
            for r in uow.conn.execute(select(audit_log).where(audit_log.c.action == "denied"))
        ]
    # One client refused twice in one window: one entry, naming the first path, with the count.
    assert [(r["object"], r["outcome"], r["repeats"]) for r in rows] == [("/api/v1/me", "unauthorized", 2)]
    assert "forged-token" not in json.dumps(rows, default=str)
