"""The health check before donating over HTTP: questions, deferral, encrypted answers, the station's read,
and the pass that verifies online and offline until it expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from litestar.testing import TestClient
from typer.testing import CliRunner

from bloodcert.domain.clock import BEIJING
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from bloodcert.web.state import AppState
from tests.api.conftest import BASE
from tests.api.test_donor_api import bearer, log_in, seed
from tests.api.test_sites_api import put_site, put_slots, signed
from tests.factories import LI_LEI, StationKey, create_station, make_record

TODAY = datetime.now(BEIJING).date()
CHECK = BASE + "/api/v1/me/health-check"


def all_clear(questions: list[dict[str, Any]]) -> dict[str, bool]:
    """Answers that defer nothing: yes to feeling well, rested and fed; no to everything else."""
    return {q["id"]: q["id"] in {"feel_well", "rested_and_fed"} for q in questions}


def booked_today(
    client: TestClient, db: Database, signing: Signing
) -> tuple[StationKey, dict[str, str], int]:  # type: ignore[type-arg]
    """王芳 with a booking at 武林广场献血屋 today: (the station's key, her auth header, the booking's id)."""
    key = create_station(db)
    put_site(client, key, "WL01")
    [slot] = put_slots(client, key, "WL01", [{"starts_at": "23:30", "capacity": 3}], day=TODAY).json()[
        "slots"
    ]
    seed(db, signing, [make_record(donation_no="W1", donated_at="2024-01-10T09:00:00+08:00")])
    auth = bearer(log_in(client))
    booked = client.post(
        BASE + "/api/v1/me/appointments", json={"slot_id": slot["id"], "kind": "whole_blood"}, headers=auth
    )
    assert booked.status_code == 201, booked.text
    return key, auth, booked.json()["id"]


def answer(client: TestClient, auth: dict[str, str], **body: Any) -> Any:  # type: ignore[type-arg]
    return client.post(CHECK, json=body, headers=auth)


def test_a_donor_answers_for_today_s_booking_and_gets_a_pass_that_verifies_as_a_pass(
    client: TestClient, db: Database, signing: Signing
) -> None:  # type: ignore[type-arg]
    _key, auth, appointment = booked_today(client, db, signing)
    asked = client.get(CHECK, headers=auth)
    assert asked.status_code == 200 and asked.headers["cache-control"] == "no-store"
    questions = asked.json()
    assert questions["appointment"]["id"] == appointment and questions["latest"] is None
    assert "GB 18467-2011" in questions["source"]
    ids = [q["id"] for q in questions["questions"]]
    assert "pregnancy" in ids and "adverse_reaction" not in ids  # 王芳 is 36
    response = answer(client, auth, appointment_id=appointment, answers=all_clear(questions["questions"]))
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["outcome"], result["come_back_on"], result["deferrals"]) == ("pass", None, [])
    qr = result["pass"]["qr"]
    assert qr.startswith("BC1:") and "330106199001011221" not in qr
    answer_ = client.post(BASE + "/api/v1/verify", json={"qr": qr}).json()
    assert (answer_["valid"], answer_["reason"], answer_["type"], answer_["certificate"]) == (
        True,
        "ok",
        "pass",
        None,
    )
    assert answer_["pass"] | {"expires_at": "-"} == {
        "holder_name": "王*",
        "id_number_masked": "330***********1221",
        "station_code": "33000001",
        "site_name": "武林广场献血屋",
        "date": TODAY.isoformat(),
        "kind": "whole_blood",
        "starts_at": "23:30",
        "expires_at": "-",
    }
    page = client.post(BASE + "/verify", data={"qr": qr}).text
    assert "献血通行码" in page and "武林广场献血屋" in page
    again = client.get(CHECK + "/pass", headers=auth).json()
    assert client.post(BASE + "/api/v1/verify", json={"qr": again["qr"]}).json()["valid"] is True


def test_an_answer_that_defers_says_kindly_why_and_when_to_come_back_and_gives_no_pass(
    client: TestClient, db: Database, signing: Signing
) -> None:  # type: ignore[type-arg]
    _key, auth, appointment = booked_today(client, db, signing)
    questions = client.get(CHECK, headers=auth).json()["questions"]
    answers = all_clear(questions) | {"infection": True, "minor_surgery": True}
    result = answer(client, auth, appointment_id=appointment, answers=answers).json()
    assert result["outcome"] == "deferred" and result["pass"] is None
    assert result["come_back_on"] == (TODAY + timedelta(days=14)).isoformat()
    assert [d["question"] for d in result["deferrals"]] == ["infection", "minor_surgery"]
    assert "一周" in result["deferrals"][0]["why_zh"] and "week" in result["deferrals"][0]["why_en"]
    assert client.get(CHECK + "/pass", headers=auth).status_code == 404
    latest = client.get(CHECK, headers=auth).json()["latest"]
    assert (latest["outcome"], latest["come_back_on"]) == ("deferred", result["come_back_on"])


def test_a_missing_answer_or_a_booking_of_another_donor_is_refused(
    client: TestClient, db: Database, signing: Signing
) -> None:  # type: ignore[type-arg]
    _key, auth, appointment = booked_today(client, db, signing)
    questions = client.get(CHECK, headers=auth).json()["questions"]
    partial = all_clear(questions)
    del partial["medication"]
    refused = answer(client, auth, appointment_id=appointment, answers=partial)
    assert refused.status_code == 400
    assert {"field": "answers.medication", "code": "unanswered"} in [
        {"field": e["field"], "code": e["code"]} for e in refused.json()["errors"]
    ]
    seed(db, signing, [make_record(donation_no="L1", donor=LI_LEI, donated_at="2024-01-10T09:00:00+08:00")])
    li = bearer(log_in(client, donor=LI_LEI, donation_no="L1"))
    li_answers = all_clear(client.get(CHECK, headers=li).json()["questions"])
    assert answer(client, li, appointment_id=appointment, answers=li_answers).status_code == 404
    assert answer(client, auth, answers=all_clear(questions)).status_code == 400  # for what?


def test_the_answers_are_stored_encrypted_and_the_platform_reads_them_back(
    client: TestClient, db: Database, signing: Signing
) -> None:  # type: ignore[type-arg]
    _key, auth, appointment = booked_today(client, db, signing)
    questions = client.get(CHECK, headers=auth).json()["questions"]
    answers = all_clear(questions) | {"risk_behaviour": True}
    assert answer(client, auth, appointment_id=appointment, answers=answers).json()["outcome"] == "deferred"
    with db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT answers, outcome, come_back_on FROM health_checks")).one()
    raw = b"".join(bytes(v) for v in stored)
    for secret in (b"risk_behaviour", b"true", b"deferred", TODAY.isoformat().encode()[:4] + b"-"):
        assert secret not in raw
    with db.reading() as uow:
        person_id = uow.conn.execute(sa.text("SELECT id FROM persons")).scalar_one()
        check = uow.health_checks.latest_of_persons([person_id])
    assert check is not None and check.answers["risk_behaviour"] is True and check.outcome == "deferred"


def test_only_the_station_of_the_site_reads_the_answers_and_the_read_is_audited(
    client: TestClient, db: Database, signing: Signing
) -> None:  # type: ignore[type-arg]
    key, auth, appointment = booked_today(client, db, signing)
    other = create_station(db, "31000001", region="310000")
    questions = client.get(CHECK, headers=auth).json()["questions"]
    answer(client, auth, appointment_id=appointment, answers=all_clear(questions) | {"medication": True})
    path = f"/api/v1/station/sites/WL01/health-checks?date={TODAY.isoformat()}"
    assert signed(client, other, "GET", path).status_code == 404
    assert client.get(BASE + path).status_code == 401
    response = signed(client, key, "GET", path)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    [check] = response.json()["checks"]
    assert (check["appointment_id"], check["name"], check["id_number_masked"]) == (
        appointment,
        "王芳",
        "330***********1221",
    )
    assert (check["outcome"], check["starts_at"]) == ("deferred", "23:30")
    medication = next(a for a in check["answers"] if a["id"] == "medication")
    assert medication["answer"] is True and medication["defers"] is True and "药物" in medication["question"]
    state: AppState = client.app.state["bloodcert"]
    assert state.audit is not None
    state.audit.flush()
    with db.reading() as uow:
        actions = [(e.actor, e.action) for e in uow.audit.recent()]
    assert ("station:33000001", "read:health-checks") in actions


def test_the_pass_is_refused_after_it_expires_online_and_offline(
    client: TestClient, db: Database, signing: Signing, tmp_path: Path
) -> None:  # type: ignore[type-arg]
    from bloodcert.certs.documents import root_fingerprint
    from bloodcert.cli import app
    from tests.cli_process import cli_env

    _key, auth, appointment = booked_today(client, db, signing)
    questions = client.get(CHECK, headers=auth).json()["questions"]
    qr = answer(client, auth, appointment_id=appointment, answers=all_clear(questions)).json()["pass"]["qr"]
    state: AppState = client.app.state["bloodcert"]
    tomorrow = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), BEIJING).astimezone(UTC)
    now = datetime.now(UTC)
    assert state.verifier.verify(qr, now).valid is True
    late = state.verifier.verify(qr, tomorrow + timedelta(seconds=1))
    assert (late.valid, late.reason, late.type) == (False, "expired", "pass")

    env = cli_env(db.url, tmp_path)
    runner = CliRunner()
    trust = tmp_path / "mirror" / "trust-list.json"
    trust.parent.mkdir()
    assert runner.invoke(app, ["trust-list", "export", str(trust)], env=env).exit_code == 0
    with db.reading() as uow:
        root = uow.certificates.active_key("root")
    assert root is not None
    env["BLOODCERT_ROOT_KEY_SHA256"] = root_fingerprint(root.public_key_pem)
    fresh = runner.invoke(app, ["verify", qr, "--trust-list", str(trust)], env=env)
    assert fresh.exit_code == 0, fresh.output
    assert (
        fresh.output.splitlines()[0] == "valid"
        and "pass  王* 330***********1221  武林广场献血屋" in fresh.output
    )
    import bloodcert.cli

    moved = bloodcert.cli._now
    try:
        bloodcert.cli._now = lambda: tomorrow + timedelta(minutes=1)  # type: ignore[assignment]
        expired = runner.invoke(app, ["verify", qr, "--trust-list", str(trust)], env=env)
    finally:
        bloodcert.cli._now = moved  # type: ignore[assignment]
    assert (expired.exit_code, expired.output.splitlines()[0]) == (1, "invalid: expired")


def test_answering_again_or_cancelling_the_booking_ends_the_pass_online(
    client: TestClient, db: Database, signing: Signing
) -> None:  # type: ignore[type-arg]
    _key, auth, appointment = booked_today(client, db, signing)
    questions = client.get(CHECK, headers=auth).json()["questions"]
    first = answer(client, auth, appointment_id=appointment, answers=all_clear(questions)).json()["pass"][
        "qr"
    ]
    second = answer(client, auth, appointment_id=appointment, answers=all_clear(questions)).json()["pass"][
        "qr"
    ]
    stale = client.post(BASE + "/api/v1/verify", json={"qr": first}).json()
    assert (stale["valid"], stale["reason"], stale["type"]) == (False, "revoked", "pass")
    assert client.post(BASE + "/api/v1/verify", json={"qr": second}).json()["valid"] is True
    assert client.delete(BASE + f"/api/v1/me/appointments/{appointment}", headers=auth).status_code == 204
    assert client.post(BASE + "/api/v1/verify", json={"qr": second}).json()["reason"] == "revoked"


def test_a_donor_walking_in_to_a_site_open_today_gets_a_pass(
    client: TestClient, db: Database, signing: Signing
) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    site_id = put_site(client, key, "WL01").json()["id"]
    closed = put_site(client, key, "SUN", name="周日献血点", hours=[]).json()["id"]
    seed(db, signing, [make_record(donation_no="W1", donated_at="2024-01-10T09:00:00+08:00")])
    auth = bearer(log_in(client))
    questions = client.get(CHECK, headers=auth).json()["questions"]
    walk_in = answer(client, auth, site_id=site_id, kind="platelets", answers=all_clear(questions))
    assert walk_in.status_code == 201, walk_in.text
    verified = client.post(BASE + "/api/v1/verify", json={"qr": walk_in.json()["pass"]["qr"]}).json()
    assert (verified["pass"]["starts_at"], verified["pass"]["kind"]) == (None, "platelets")
    refused = answer(client, auth, site_id=closed, answers=all_clear(questions))
    assert (refused.status_code, refused.json()["type"]) == (409, "site_closed")
