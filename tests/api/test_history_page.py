"""The history page (/me) and certificate wording: every kind in every total, one name per kind."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
from litestar.testing import TestClient

from bloodcert.certs.render import CertificateView, render_svg
from bloodcert.domain.donation_rules import KIND_LABELS, Kind
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.api.test_donor_api import bearer, log_in, seed
from tests.factories import create_station, make_record

PLASMA_AND_BLOOD = [
    make_record(donation_no="P1", donated_at="2024-03-01T09:00:00+08:00", volume_ml=400),
    make_record(donation_no="P2", donated_at="2024-09-01T09:00:00+08:00", kind="plasma", volume_ml=600),
    make_record(donation_no="P3", donated_at="2025-12-30T09:00:00+08:00", kind="plasma", volume_ml=500),
]


@pytest.fixture
def plasma_donor(db: Database, signing: Signing) -> None:
    create_station(db)
    seed(db, signing, PLASMA_AND_BLOOD)


def page(client: TestClient, path: str) -> str:  # type: ignore[type-arg]
    token = log_in(client, donation_no="P1")
    client.cookies.clear()
    response = client.get(BASE + path, headers={"Cookie": f"bloodcert_session={token}"})
    assert response.status_code == 200, response.text
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


@pytest.mark.usefixtures("plasma_donor")
def test_a_year_group_shows_plasma_beside_whole_blood(client: TestClient) -> None:  # type: ignore[type-arg]
    text = page(client, "/me?group_by=year")
    assert "共 2 次献血 · 全血 400 毫升 · 单采血浆 600 毫升" in text
    assert "1 次献血 · 单采血浆 500 毫升" in text.replace("共 1 次献血", "1 次献血")


@pytest.mark.usefixtures("plasma_donor")
def test_a_province_group_and_the_result_line_show_every_kind(client: TestClient) -> None:  # type: ignore[type-arg]
    text = page(client, "/me?group_by=province")
    assert "浙江省 共 3 次献血 · 全血 400 毫升 · 单采血浆 1100 毫升" in text
    english = page(client, "/me?lang=en")
    assert "3 donations · Whole blood 400 ml · Apheresis plasma 1100 ml" in english


@pytest.mark.usefixtures("plasma_donor")
def test_the_summary_cards_show_only_the_kinds_given(client: TestClient) -> None:  # type: ignore[type-arg]
    text = page(client, "/me")
    assert "单采血浆 1100 毫升" in text
    assert "个治疗量" not in text.split("下次可献血日期")[0]
    assert "单采血小板 0" not in text


@pytest.mark.usefixtures("plasma_donor")
def test_the_list_and_the_certificate_name_a_kind_the_same_way(client: TestClient) -> None:  # type: ignore[type-arg]
    listed = page(client, "/me")
    assert "单采血浆" in listed
    svg = render_svg(
        CertificateView(
            certificate_no="2024000000000019",
            holder_name="王芳",
            id_number_masked="330***********1221",
            abo="A",
            rhd="positive",
            donated_on=date(2024, 9, 1),
            kind="plasma",
            volume_ml=600,
            units=None,
            station_name="浙江省血液中心",
            site_name="武林广场献血屋",
            qr="BC1:TEST",
        )
    )
    assert "单采血浆" in svg


def test_each_kind_has_one_label_per_language() -> None:
    assert set(KIND_LABELS) == set(Kind)
    zh = [pair[0] for pair in KIND_LABELS.values()]
    assert len(set(zh)) == len(zh)


@pytest.mark.usefixtures("plasma_donor")
def test_a_certificate_number_starts_with_its_donations_year(client: TestClient) -> None:  # type: ignore[type-arg]
    token = log_in(client, donation_no="P1")
    donations = client.get(BASE + "/api/v1/me/donations", headers=bearer(token)).json()["donations"]
    years = {d["donation_no"]: d["certificate_no"][:4] for d in donations}
    assert years == {"P1": "2024", "P2": "2024", "P3": "2025"}
