"""The health check before donating (献血前健康征询): the questions, who is asked what, and what answers mean.

The questions are data (`bloodcert/data/health_check/*.toml`, one file per revision with its `source` and
`effective_from`), validated when loaded, so a revised questionnaire is a data change. Everything here is a
pure function of the loaded questionnaire, the donor and the answers.

An answer that defers names the day the donor may come back (`defer_days` after the check), or that they
should not donate (`defer_days = -1`); several deferring answers take the latest day. A check with no
deferring answer passes, and a pass is what the site's staff scan at check-in.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from importlib.resources import files
from typing import Any

from bloodcert.domain.donation_rules import MAX_AGE_FIRST_TIME
from bloodcert.errors import ProblemField, ValidationFailed

QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
NEVER = -1  # defer_days of an answer after which the donor should not donate at all
AUDIENCES = ("women", "over_55")


class QuestionnaireInvalid(ValueError):
    """A questionnaire file does not hold what the check needs."""


class Outcome(StrEnum):
    """What a completed check says: donate today, come back later, or do not donate."""

    PASS = "pass"  # noqa: S105 (an outcome, not a password)
    DEFERRED = "deferred"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class Question:
    """One yes-or-no question, the answer that defers, for how long, and why in kind words."""

    id: str
    zh: str
    en: str
    defer_on: bool
    defer_days: int
    why_zh: str
    why_en: str
    ask: str | None = None  # None: everyone; "women"; "over_55"

    def text(self, lang: str) -> str:
        """The question in `lang` (zh or en)."""
        return self.en if lang == "en" else self.zh

    def why(self, lang: str) -> str:
        """Why the deferring answer defers, in `lang`."""
        return self.why_en if lang == "en" else self.why_zh


@dataclass(frozen=True, slots=True)
class Questionnaire:
    """One revision of the questionnaire."""

    source: str
    effective_from: date
    questions: tuple[Question, ...]

    @property
    def version(self) -> str:
        """The revision's name as stored with each check: the day it took effect."""
        return self.effective_from.isoformat()

    def for_donor(self, *, woman: bool, age: int | None) -> tuple[Question, ...]:
        """The questions this donor is asked (some only of women, one only of donors past 55)."""
        audiences = {None} | ({"women"} if woman else set())
        if age is not None and age > MAX_AGE_FIRST_TIME:
            audiences.add("over_55")
        return tuple(q for q in self.questions if q.ask in audiences)


@dataclass(frozen=True, slots=True)
class Deferral:
    """A deferring answer: the question, and the first day the donor may come back (None: never)."""

    question: Question
    come_back_on: date | None


@dataclass(frozen=True, slots=True)
class Assessment:
    """The result of a completed check."""

    outcome: Outcome
    come_back_on: date | None  # with DEFERRED: the first day the donor may donate again
    deferrals: tuple[Deferral, ...]


def assess(asked: Sequence[Question], answers: Mapping[str, bool], day: date) -> Assessment:
    """Judge a complete set of answers given on `day`; ValidationFailed when one is missing or unknown."""
    _check_complete(asked, answers)
    deferrals = tuple(
        Deferral(q, None if q.defer_days == NEVER else day + timedelta(days=q.defer_days))
        for q in asked
        if answers[q.id] is q.defer_on
    )
    if not deferrals:
        return Assessment(Outcome.PASS, None, ())
    if any(d.come_back_on is None for d in deferrals):
        return Assessment(Outcome.PERMANENT, None, deferrals)
    return Assessment(Outcome.DEFERRED, max(d.come_back_on for d in deferrals if d.come_back_on), deferrals)


def _check_complete(asked: Sequence[Question], answers: Mapping[str, bool]) -> None:
    ids = {q.id for q in asked}
    problems = [
        ProblemField(f"answers.{q.id}", "unanswered", "every question needs a yes or a no")
        for q in asked
        if q.id not in answers
    ]
    problems += [
        ProblemField(f"answers.{name[:40]}", "unknown_question", "not a question asked of this donor")
        for name in answers
        if name not in ids
    ]
    if problems:
        raise ValidationFailed("the health check is not complete", errors=problems)


# --- loading ---------------------------------------------------------------------------------------------


def _need(table: Mapping[str, Any], key: str, kind: type) -> Any:
    value = table.get(key)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise QuestionnaireInvalid(f"{key} must be a {kind.__name__}")
    if isinstance(value, str) and not value.strip():
        raise QuestionnaireInvalid(f"{key} must not be empty")
    return value


def _question(t: Mapping[str, Any]) -> Question:
    q = Question(
        id=_need(t, "id", str),
        zh=_need(t, "zh", str),
        en=_need(t, "en", str),
        defer_on=_need(t, "defer_on", bool),
        defer_days=_need(t, "defer_days", int),
        why_zh=_need(t, "why_zh", str),
        why_en=_need(t, "why_en", str),
        ask=t.get("ask"),
    )
    if not QUESTION_ID.match(q.id):
        raise QuestionnaireInvalid(f"question id {q.id!r} must be lower-case letters, digits and _")
    if q.defer_days != NEVER and q.defer_days < 1:
        raise QuestionnaireInvalid(f"{q.id}: defer_days is a number of days (1 or more) or -1 for never")
    if q.ask is not None and q.ask not in AUDIENCES:
        raise QuestionnaireInvalid(f"{q.id}: ask must be one of {', '.join(AUDIENCES)}")
    return q


def parse_questionnaire(document: Mapping[str, Any]) -> Questionnaire:
    """Validate one questionnaire file."""
    tables = document.get("questions")
    if not isinstance(tables, list) or not tables:
        raise QuestionnaireInvalid("a questionnaire needs at least one [[questions]] table")
    questions = tuple(_question(t) for t in tables)
    if len({q.id for q in questions}) != len(questions):
        raise QuestionnaireInvalid("two questions share an id")
    return Questionnaire(_need(document, "source", str), _need(document, "effective_from", date), questions)


@lru_cache(maxsize=1)
def questionnaires() -> tuple[Questionnaire, ...]:
    """Every shipped revision (data/health_check/*.toml), oldest first."""
    folder = files("bloodcert.data").joinpath("health_check")
    found = [
        parse_questionnaire(tomllib.loads(entry.read_text(encoding="utf-8")))
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    ]
    revisions = sorted(found, key=lambda q: q.effective_from)
    if not revisions or len({q.effective_from for q in revisions}) != len(revisions):
        raise QuestionnaireInvalid("the questionnaires need distinct effective_from days")
    return tuple(revisions)


def questionnaire_on(day: date, revisions: Sequence[Questionnaire] | None = None) -> Questionnaire:
    """The revision in force on a day (the earliest one before any took effect)."""
    revisions = revisions or questionnaires()
    in_force = [q for q in revisions if q.effective_from <= day]
    return in_force[-1] if in_force else revisions[0]


def by_id(questionnaire: Questionnaire, question_id: str) -> Question | None:
    """A question of a revision by its id."""
    return next((q for q in questionnaire.questions if q.id == question_id), None)
