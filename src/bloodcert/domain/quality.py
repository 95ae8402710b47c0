"""Data-quality issues a station can act on: what each code means and what to do, as data, and how an
operator closes an issue (fixed, linking the corrected record, or accepted with a note).

The labels are data (`bloodcert/data/quality/issue_codes.toml`), validated when loaded.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Any

from bloodcert.errors import ValidationFailed

MAX_NOTE = 300
_TEXTS = ("label_zh", "label_en", "action_zh", "action_en")


class Closing(StrEnum):
    """How an operator closes an issue."""

    FIXED = "fixed"  # the record was corrected: names the corrected donation
    ACCEPTED = "accepted"  # the record is right as it is: a note says why


@dataclass(frozen=True, slots=True)
class IssueCode:
    """One quality code: its severity, its label and what to do, in Chinese and English."""

    code: str
    severity: str
    label_zh: str
    label_en: str
    action_zh: str
    action_en: str

    def label(self, lang: str) -> str:
        """The label in `lang` (zh or en)."""
        return self.label_zh if lang == "zh" else self.label_en

    def action(self, lang: str) -> str:
        """What to do, in `lang` (zh or en)."""
        return self.action_zh if lang == "zh" else self.action_en


@dataclass(frozen=True, slots=True)
class IssueCodes:
    """Every code, with the source and the day the texts apply from."""

    source: str
    effective_from: date
    codes: dict[str, IssueCode]

    def get(self, code: str) -> IssueCode:
        """The entry of a code; an unknown code gets its own name as label and a generic action."""
        known = self.codes.get(code)
        if known is not None:
            return known
        return IssueCode(
            code,
            "warning",
            code,
            code,
            "核对该记录，更正后以新版本报送，或标记为已接受并说明。",
            "Check the record; send a corrected version, or accept it with a note.",
        )


def parse_issue_codes(data: dict[str, Any]) -> IssueCodes:
    """Validate issue_codes.toml: a [meta] with source and effective_from, and every code's four texts."""
    meta = data.get("meta")
    if not isinstance(meta, dict) or not isinstance(meta.get("source"), str) or not meta["source"].strip():
        raise ValueError("issue_codes.toml: [meta] needs a source")
    effective = meta.get("effective_from")
    if not isinstance(effective, date):
        raise ValueError("issue_codes.toml: [meta] needs effective_from as a date")
    raw = data.get("codes")
    if not isinstance(raw, dict) or not raw:
        raise ValueError("issue_codes.toml: [codes] is empty")
    codes = {}
    for code, entry in raw.items():
        if not isinstance(entry, dict) or entry.get("severity") not in ("error", "warning"):
            raise ValueError(f"issue_codes.toml: {code} needs severity error or warning")
        for key in _TEXTS:
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ValueError(f"issue_codes.toml: {code} needs {key}")
        codes[code] = IssueCode(code, entry["severity"], *(entry[k].strip() for k in _TEXTS))
    return IssueCodes(meta["source"].strip(), effective, codes)


@cache
def issue_codes() -> IssueCodes:
    """The shipped labels (data/quality/issue_codes.toml)."""
    text = files("bloodcert.data").joinpath("quality", "issue_codes.toml").read_text(encoding="utf-8")
    return parse_issue_codes(tomllib.loads(text))


def parse_closing(action: str, *, donation_no: str, note: str) -> tuple[Closing, str, str]:
    """Check how an issue is closed: `fixed` names the corrected donation, `accepted` needs a note."""
    try:
        closing = Closing(action.strip())
    except ValueError:
        raise ValidationFailed("close an issue as fixed or accepted") from None
    donation_no, note = donation_no.strip()[:64], note.strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(f"a note is at most {MAX_NOTE} characters")
    if closing is Closing.FIXED and not donation_no:
        raise ValidationFailed("name the corrected donation (its donation number)")
    if closing is Closing.ACCEPTED and not note:
        raise ValidationFailed("say in a note why the record is right as it is")
    return closing, donation_no, note
