"""The health questions before donating: who is asked what, and what an answer means."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bloodcert.domain.health_check import (
    Outcome,
    QuestionnaireInvalid,
    assess,
    parse_questionnaire,
    questionnaire_on,
    questionnaires,
)
from bloodcert.errors import ValidationFailed

DAY = date(2026, 12, 1)


def all_clear(asked: Any) -> dict[str, bool]:
    return {q.id: not q.defer_on for q in asked}


def test_the_shipped_questionnaire_names_its_source_and_loads() -> None:
    (revision,) = questionnaires()
    assert "GB 18467-2011" in revision.source and revision.effective_from == date(2012, 7, 1)
    assert questionnaire_on(DAY) is revision
    assert all(q.zh and q.en and q.why_zh and q.why_en for q in revision.questions)


def test_women_are_asked_about_pregnancy_and_donors_past_55_about_reactions() -> None:
    q = questionnaire_on(DAY)
    man = {x.id for x in q.for_donor(woman=False, age=30)}
    woman = {x.id for x in q.for_donor(woman=True, age=30)}
    senior = {x.id for x in q.for_donor(woman=False, age=57)}
    assert "pregnancy" not in man and "pregnancy" in woman
    assert "adverse_reaction" not in man and "adverse_reaction" in senior


def test_answers_that_defer_nothing_pass() -> None:
    asked = questionnaire_on(DAY).for_donor(woman=True, age=36)
    result = assess(asked, all_clear(asked), DAY)
    assert (result.outcome, result.come_back_on, result.deferrals) == (Outcome.PASS, None, ())


def test_a_cold_and_a_tooth_pulled_defer_to_the_later_day() -> None:
    asked = questionnaire_on(DAY).for_donor(woman=False, age=36)
    answers = all_clear(asked) | {"infection": True, "minor_surgery": True}
    result = assess(asked, answers, DAY)
    assert result.outcome is Outcome.DEFERRED
    assert result.come_back_on == date(2026, 12, 15)
    assert [d.question.id for d in result.deferrals] == ["infection", "minor_surgery"]
    assert "一周" in result.deferrals[0].question.why("zh")


def test_not_feeling_well_defers_to_tomorrow() -> None:
    asked = questionnaire_on(DAY).for_donor(woman=False, age=36)
    result = assess(asked, all_clear(asked) | {"feel_well": False}, DAY)
    assert (result.outcome, result.come_back_on) == (Outcome.DEFERRED, date(2026, 12, 2))


def test_a_reaction_past_55_means_not_donating_again() -> None:
    asked = questionnaire_on(DAY).for_donor(woman=False, age=58)
    result = assess(asked, all_clear(asked) | {"adverse_reaction": True, "infection": True}, DAY)
    assert (result.outcome, result.come_back_on) == (Outcome.PERMANENT, None)


def test_a_missing_or_unknown_answer_is_refused_by_field() -> None:
    asked = questionnaire_on(DAY).for_donor(woman=False, age=36)
    answers = all_clear(asked)
    del answers["medication"]
    with pytest.raises(ValidationFailed) as refused:
        assess(asked, answers | {"pregnancy": False}, DAY)
    assert {(e.field, e.code) for e in refused.value.errors} == {
        ("answers.medication", "unanswered"),
        ("answers.pregnancy", "unknown_question"),
    }


QUESTION = {
    "id": "x",
    "zh": "问",
    "en": "Q",
    "defer_on": True,
    "defer_days": 7,
    "why_zh": "因",
    "why_en": "W",
}


@pytest.mark.parametrize(
    "change",
    [{"defer_days": 0}, {"ask": "children"}, {"id": "Bad Id"}, {"en": ""}, {"defer_on": "yes"}],
)
def test_a_questionnaire_file_is_validated_when_loaded(change: dict[str, Any]) -> None:
    document = {"source": "GB 18467-2011", "effective_from": DAY, "questions": [QUESTION]}
    assert parse_questionnaire(document).questions[0].id == "x"
    with pytest.raises(QuestionnaireInvalid):
        parse_questionnaire(document | {"questions": [QUESTION | change]})
    with pytest.raises(QuestionnaireInvalid):
        parse_questionnaire({"effective_from": DAY, "questions": [QUESTION]})


def test_a_pass_s_claims_read_back_as_the_pass_and_a_missing_field_is_malformed() -> None:
    from datetime import UTC, datetime

    from bloodcert.certs.payload import DonorPassContent, is_donor_pass, pass_from_claims, pass_to_claims
    from bloodcert.certs.qr import CLAIM_CERTIFICATE, MalformedQR

    issued = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    content = DonorPassContent(
        "0123456789abcdef", "王*", "330***********1221", "33000001", "武林广场献血屋", DAY, "whole_blood", None,
        datetime(2026, 12, 1, 16, 0, tzinfo=UTC),
    )  # fmt: skip
    claims = pass_to_claims(content, issuer="CN-NHC", issued_at=issued)
    assert is_donor_pass(claims) and claims[CLAIM_CERTIFICATE]["t"] == "pass"
    assert pass_from_claims(claims) == (content, "CN-NHC", issued)
    del claims[CLAIM_CERTIFICATE]["si"]
    with pytest.raises(MalformedQR):
        pass_from_claims(claims)
