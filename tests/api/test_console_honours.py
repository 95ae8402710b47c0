"""The commendation review in the console: candidates per station and per province, each with the donations
that count and where they were made; confirm or reject with a reason, audited, in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.services import honours
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.console_helpers import as_staff, csrf_token, secure_client
from tests.api.test_console import audit_entries
from tests.api.test_donor_api import seed
from tests.api.test_honours_api import platelets_every_two_weeks
from tests.factories import LI_LEI, create_staff, create_station, make_record, staff_session

CYCLE = "2020-2021"
ZHEJIANG, SHANGHAI, GUANGDONG = "33000001", "31000001", "44000001"


@pytest.fixture
def client(settings: Settings, db: Database, signing: Signing) -> Iterator[Any]:
    """王芳 gave 20 platelet units in 浙江 and 2 in 上海 in 2020-2021 (a bronze); 李雷 gave once."""
    create_station(db, ZHEJIANG, region="330000")
    create_station(db, SHANGHAI, region="310000")
    create_station(db, GUANGDONG, region="440000")
    history = platelets_every_two_weeks("2020-01-06", 22, "G")
    seed(db, signing, history[:20], code=ZHEJIANG)
    seed(db, signing, history[20:], code=SHANGHAI)
    seed(db, signing, [make_record(donation_no="L1", donor=LI_LEI)], code=SHANGHAI)
    with secure_client(settings, db) as test_client:
        yield test_client


def sign_in(client: Any, db: Database, username: str, role: str, station: str | None = None) -> str:
    as_staff(client, staff_session(db, create_staff(db, username, role, station)))
    return csrf_token(client, "/console")


def person_ref(db: Database) -> int:
    with db.reading() as uow:
        (candidate,) = honours.candidates(uow, CYCLE)
    return candidate.person_id


def decide(client: Any, url: str, csrf: str, person: int, decision: str, reason: str = "") -> Any:
    form = {
        "_csrf_token": csrf,
        "person_ref": str(person),
        "cycle": CYCLE,
        "award": "bronze",
        "decision": decision,
        "reason": reason,
        "page": "1",
    }
    return client.post(url, data=form, follow_redirects=False)


def test_a_station_reviews_its_candidates_with_the_donations_that_count_and_where_they_were_made(
    client: Any, db: Database
) -> None:
    csrf = sign_in(client, db, "olga", "station_operator", ZHEJIANG)
    url = f"/console/stations/{ZHEJIANG}/honours"
    page = client.get(f"{url}?cycle={CYCLE}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert "王芳" in text and "330***********1221" in text and "330106199001011221" not in text
    assert "奉献奖铜奖" in text and "计入献血 22 次" in text
    # Every counted donation, with the station it was made at: the two given in 上海 too.
    assert text.count("<td>2020-") + text.count("<td>2021-") == 22
    assert text.count("<td>测试血站31000001</td>") == 2 and text.count("<td>测试血站33000001</td>") == 20
    assert "李雷" not in text

    ref = person_ref(db)
    confirmed = decide(client, url, csrf, ref, "confirm")
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == f"{url}?cycle={CYCLE}&page=1&done=confirmed"
    with db.reading() as uow:
        (kept,) = uow.honours.decisions_in_cycle(CYCLE)
    assert (kept.person_id, kept.award, kept.status, kept.decided_by) == (
        ref,
        "bronze",
        "confirmed",
        "staff:olga",
    )
    assert "已确认该候选人的表彰" in client.get(confirmed.headers["location"]).text

    entries = audit_entries(db, client)
    assert any(
        (e["actor"], e["action"], e["object"])
        == ("staff:olga", "read:honour_candidates", f"{CYCLE} station {ZHEJIANG} page 1")
        for e in entries
    )
    assert [(e["actor"], e["object"]) for e in entries if e["action"] == "honour.confirm"] == [
        ("staff:olga", f"{ref} {CYCLE} bronze (station {ZHEJIANG})")
    ]


def test_a_rejection_needs_a_reason_and_the_reason_is_kept(client: Any, db: Database) -> None:
    csrf = sign_in(client, db, "olga", "station_operator", ZHEJIANG)
    url = f"/console/stations/{ZHEJIANG}/honours"
    ref = person_ref(db)
    refused = decide(client, url, csrf, ref, "reject", "  ")
    assert refused.status_code == 200
    assert "a rejection needs a reason" in refused.text
    with db.reading() as uow:
        assert uow.honours.decisions_in_cycle(CYCLE) == []
    rejected = decide(client, url, csrf, ref, "reject", "两次献血记录属于他人")
    assert rejected.status_code == 303
    with db.reading() as uow:
        (kept,) = uow.honours.decisions_in_cycle(CYCLE)
    assert (kept.status, kept.reason) == ("rejected", "两次献血记录属于他人")
    page = client.get(f"{url}?cycle={CYCLE}").text
    assert "已驳回" in page and "两次献血记录属于他人" in page
    assert [e["object"] for e in audit_entries(db) if e["action"] == "honour.reject"] == [
        f"{ref} {CYCLE} bronze (station {ZHEJIANG})"
    ]


def test_another_station_s_operator_can_neither_see_nor_decide(client: Any, db: Database) -> None:
    csrf = sign_in(client, db, "oscar", "station_operator", GUANGDONG)
    assert client.get(f"/console/stations/{ZHEJIANG}/honours?cycle={CYCLE}").status_code == 403
    ref = person_ref(db)
    assert decide(client, f"/console/stations/{ZHEJIANG}/honours", csrf, ref, "confirm").status_code == 403
    # Their own list does not hold her, so a decision through it finds no such candidate.
    assert "王芳" not in client.get(f"/console/stations/{GUANGDONG}/honours?cycle={CYCLE}").text
    assert decide(client, f"/console/stations/{GUANGDONG}/honours", csrf, ref, "confirm").status_code == 404
    assert client.get("/console/honours").status_code == 403
    with db.reading() as uow:
        assert uow.honours.decisions_in_cycle(CYCLE) == []


def test_an_administrator_reviews_a_province_s_list_in_either_language(client: Any, db: Database) -> None:
    csrf = sign_in(client, db, "ada", "national_admin")
    index = client.get(f"/console/honours?cycle={CYCLE}")
    assert index.status_code == 200
    assert f'href="/console/honours/provinces/33?cycle={CYCLE}"' in index.text
    shanghai = client.get(f"/console/honours/provinces/31?cycle={CYCLE}")
    # She gave twice in 上海, so she is on 上海's list too, with her whole national history.
    assert "王芳" in shanghai.text and "计入献血 22 次" in shanghai.text
    english = client.get(f"/console/honours/provinces/31?cycle={CYCLE}&lang=en").text
    assert "Dedication Award review" in english and "22 counted donations" in english
    assert "Confirm" in english and "Reject" in english
    assert "王芳" not in client.get(f"/console/honours/provinces/44?cycle={CYCLE}").text
    assert client.get(f"/console/honours/provinces/99?cycle={CYCLE}").status_code == 404
    assert client.get("/console/honours/provinces/33?cycle=2021-2022").status_code == 400

    ref = person_ref(db)
    done = decide(client, "/console/honours/provinces/31", csrf, ref, "confirm")
    assert done.status_code == 303
    assert decide(client, "/console/honours/provinces/44", csrf, ref, "confirm").status_code == 404
    with db.reading() as uow:
        (kept,) = uow.honours.decisions_in_cycle(CYCLE)
    assert (kept.status, kept.decided_by) == ("confirmed", "staff:ada")


def test_a_station_exports_its_list_in_the_command_line_s_columns(client: Any, db: Database) -> None:
    import csv
    import io

    sign_in(client, db, "olga", "station_operator", ZHEJIANG)
    exported = client.get(f"/console/stations/{ZHEJIANG}/honours?cycle={CYCLE}&format=csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == list(honours.CANDIDATE_COLUMNS)
    (line,) = rows[1:]
    assert line[:3] == [CYCLE, "bronze", "candidate"]
    assert line[4:8] == ["王芳", "330***********1221", "22", "测试血站31000001; 测试血站33000001"]
    assert len(line[8].split("; ")) == 22
    assert [e["object"] for e in audit_entries(db, client) if e["action"] == "export:honour_candidates"] == [
        f"{CYCLE} station {ZHEJIANG}"
    ]
    assert client.get(f"/console/stations/{SHANGHAI}/honours?cycle={CYCLE}&format=csv").status_code == 403


def test_the_list_opens_on_the_last_cycle_whose_cut_off_has_passed() -> None:
    from datetime import date

    from bloodcert.services.honour_review import default_cycle, recent_cycles

    assert default_cycle(date(2026, 11, 30)) == "2024-2025"
    assert default_cycle(date(2026, 1, 1)) == "2024-2025"
    assert default_cycle(date(2025, 12, 31)) == "2022-2023"
    assert recent_cycles(date(2026, 11, 30)) == ["2024-2025", "2022-2023", "2020-2021", "2018-2019"]
