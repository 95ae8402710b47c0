"""Console staff: the password policy, argon2id hashes, TOTP codes, roles and the charts' monthly figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher, Type

from bloodcert.domain.staff import Role, StaffPrincipal, parse_role, require_role, require_station
from bloodcert.errors import Forbidden, ValidationFailed
from bloodcert.services import passwords
from bloodcert.services.console import last_months, monthly_stats
from bloodcert.services.staff import matching_step, totp_step
from bloodcert.storage.rows import ReportedVersion

GOOD = "Tulip-Harbour-Violet-42"
SECRET = pyotp.random_base32()
NOW = datetime(2026, 11, 27, 8, 0, 10, tzinfo=UTC)

# ---- password policy -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "ok"), [("k7#Vq-m2Lp9", False), ("k7#Vq-m2Lp9z", True)])
def test_a_password_needs_at_least_12_characters(password: str, ok: bool) -> None:
    assert len(password) in (11, 12)
    assert (passwords.problems(password) == []) is ok


def test_a_password_of_128_characters_is_taken_and_129_are_refused() -> None:
    unit = "Tulip-Harbour-Violet-42 "
    long = (unit * 6)[:128]
    assert passwords.problems(long) == []
    assert [p.code for p in passwords.problems(long + "x")] == ["length"]


@pytest.mark.parametrize(
    "password",
    [
        "administrator",  # on the shipped list as it is
        "ADMINISTRATOR",  # any case
        "Cookie Monster",  # with spaces
        "ｃｏｏｋｉｅｍｏｎｓｔｅｒ",  # full-width letters, as a Chinese input method types them
        "Password2024!",  # a listed password padded with digits and symbols
        "qwertyuiop123",
        "abcabcabcabc",  # one short unit over and over
    ],
)
def test_common_and_breached_passwords_are_refused_whatever_their_case_and_spacing(password: str) -> None:
    assert "common" in [p.code for p in passwords.problems(password)]


def test_the_shipped_list_is_large_and_normalised() -> None:
    listed = passwords.common_passwords()
    assert len(listed) > 30_000
    assert {"password", "123456", "iloveyou", "cookiemonster"} <= listed
    assert all(p == passwords.normalise(p) for p in list(listed)[:2000])


def test_a_password_must_not_contain_the_username() -> None:
    assert [p.code for p in passwords.problems("olga-tulip-harbour", username="olga")] == ["username"]
    assert passwords.problems(GOOD, username="olga") == []


def test_check_names_every_problem() -> None:
    with pytest.raises(ValidationFailed) as refused:
        passwords.check("password")
    assert {e.code for e in refused.value.errors} == {"length", "common"}


def test_passwords_are_hashed_with_argon2id_and_verify() -> None:
    stored = passwords.hash_password(GOOD)
    assert stored.startswith("$argon2id$v=19$")
    assert passwords.verify(stored, GOOD)
    assert not passwords.verify(stored, GOOD + "x")
    assert not passwords.verify("not a hash", GOOD)


def test_the_production_parameters_follow_rfc_9106() -> None:
    hasher = passwords.DEFAULT_HASHER
    assert hasher.type is Type.ID
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 64 * 1024, 4)


def test_a_hash_made_with_other_parameters_needs_a_rehash(monkeypatch: pytest.MonkeyPatch) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(GOOD)
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    assert passwords.verify(old, GOOD)  # still verifies: the parameters travel with the hash
    assert passwords.needs_rehash(old)
    assert not passwords.needs_rehash(passwords.hash_password(GOOD))


# ---- TOTP ------------------------------------------------------------------------------------------------


def code_at(step: int) -> str:
    return str(pyotp.TOTP(SECRET).generate_otp(step))


def test_the_current_code_is_valid() -> None:
    step = totp_step(NOW)
    assert matching_step(SECRET, code_at(step), NOW, None) == step
    assert matching_step(SECRET, " ".join([code_at(step)[:3], code_at(step)[3:]]), NOW, None) == step


def test_a_code_one_step_either_side_is_valid_but_two_steps_are_not() -> None:
    step = totp_step(NOW)
    assert matching_step(SECRET, code_at(step - 1), NOW, None) == step - 1
    assert matching_step(SECRET, code_at(step + 1), NOW, None) == step + 1
    assert matching_step(SECRET, code_at(step - 2), NOW, None) is None
    assert matching_step(SECRET, code_at(step + 2), NOW, None) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６"])
def test_a_malformed_code_is_refused(code: str) -> None:
    assert matching_step(SECRET, code, NOW, None) is None


def test_a_wrong_code_is_refused() -> None:
    step = totp_step(NOW)
    wrong = f"{(int(code_at(step)) + 1) % 1_000_000:06d}"
    assert wrong not in {code_at(s) for s in range(step - 1, step + 2)}
    assert matching_step(SECRET, wrong, NOW, None) is None


def test_a_code_replayed_within_its_window_is_refused() -> None:
    step = totp_step(NOW)
    assert matching_step(SECRET, code_at(step), NOW, last_step=step) is None
    assert matching_step(SECRET, code_at(step), NOW + timedelta(seconds=20), last_step=step) is None
    # An earlier step's code is refused too once a later one was used.
    assert matching_step(SECRET, code_at(step - 1), NOW, last_step=step) is None
    assert matching_step(SECRET, code_at(step + 1), NOW + timedelta(seconds=30), last_step=step) == step + 1


# ---- roles -----------------------------------------------------------------------------------------------


def principal(role: Role, station_id: int | None = None) -> StaffPrincipal:
    return StaffPrincipal(1, role.value.replace("_", ""), role, station_id, None, 1)


def test_roles_are_separated() -> None:
    require_role(principal(Role.AUDITOR), (Role.AUDITOR,))
    for role in (Role.NATIONAL_ADMIN, Role.STATION_OPERATOR):
        with pytest.raises(Forbidden):
            require_role(principal(role, 1), (Role.AUDITOR,))
    with pytest.raises(Forbidden):
        require_role(principal(Role.AUDITOR), ())


def test_an_operator_reaches_only_their_own_station_and_an_auditor_none() -> None:
    require_station(principal(Role.STATION_OPERATOR, 7), 7)
    require_station(principal(Role.NATIONAL_ADMIN), 7)
    with pytest.raises(Forbidden):
        require_station(principal(Role.STATION_OPERATOR, 8), 7)
    with pytest.raises(Forbidden):
        require_station(principal(Role.AUDITOR), 7)


def test_an_unknown_role_is_refused_with_the_list() -> None:
    with pytest.raises(ValidationFailed, match="national_admin, provincial_admin, station_operator, auditor"):
        parse_role("root")


# ---- the quality charts' figures -------------------------------------------------------------------------


def test_the_last_twelve_months_end_with_this_month_in_china_time() -> None:
    months = last_months(datetime(2026, 1, 31, 17, 0, tzinfo=UTC), 12)  # already 1 February in Beijing
    assert months[0] == date(2025, 3, 1) and months[-1] == date(2026, 2, 1) and len(months) == 12


def test_monthly_rejection_rate_and_reporting_delay() -> None:
    months = [date(2026, 10, 1), date(2026, 11, 1)]
    received = datetime(2026, 11, 20, 2, 0)
    versions = [ReportedVersion(received, received - timedelta(days=d)) for d in (1, 2, 3, 10)]
    rejections = [datetime(2026, 11, 3), datetime(2026, 9, 1)]  # September is outside the window
    october, november = monthly_stats(months, rejections, versions)
    assert (october.accepted, october.rejected, october.rejection_rate, october.median_delay_days) == (
        0,
        0,
        None,
        None,
    )
    assert (november.accepted, november.rejected) == (4, 1)
    assert november.rejection_rate == pytest.approx(0.2)
    assert november.median_delay_days == pytest.approx(2.5)
    assert november.p90_delay_days is not None and 3 < november.p90_delay_days <= 10
