"""The quality codes' labels and actions are data, complete for every code the platform emits."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from bloodcert.domain.quality import Closing, issue_codes, parse_closing, parse_issue_codes
from bloodcert.errors import ValidationFailed

SRC = Path(__file__).resolve().parents[2] / "src" / "bloodcert"


def emitted_codes() -> set[str]:
    """Every problem or warning code the record checks and the ingest can emit, read from their source."""
    found: set[str] = set()
    for name in ("domain/records.py", "domain/identity.py", "services/reporting.py"):
        text = (SRC / name).read_text(encoding="utf-8")
        found |= set(re.findall(r'(?:FieldProblem|\.fail)\(\s*[^,()]+,\s*"([a-z_]+)"', text))
        found |= set(re.findall(r'RecordWarning\(\s*"([a-z_]+)"', text))
        found |= set(re.findall(r'return \("([a-z_]+)", "', text))
    return found


def test_every_code_the_platform_emits_has_labels_and_actions_in_both_languages() -> None:
    codes = issue_codes()
    emitted = emitted_codes()
    assert {"invalid_checksum", "interval_too_short", "identity_conflict", "version_conflict"} <= emitted
    assert emitted <= set(codes.codes)
    for entry in codes.codes.values():
        assert re.search(r"[\u4e00-\u9fff]", entry.label_zh) and re.search(
            r"[\u4e00-\u9fff]", entry.action_zh
        )
        assert not re.search(r"[\u4e00-\u9fff]", entry.label_en + entry.action_en)


def test_the_labels_name_their_source_and_day() -> None:
    codes = issue_codes()
    assert codes.source and codes.effective_from == date(2026, 11, 30)


def test_a_labels_file_without_a_text_is_refused_on_load() -> None:
    data = {
        "meta": {"source": "x", "effective_from": date(2026, 1, 1)},
        "codes": {"a": {"severity": "error", "label_zh": "甲", "label_en": "A", "action_zh": "做"}},
    }
    with pytest.raises(ValueError, match="action_en"):
        parse_issue_codes(data)


def test_an_unknown_code_still_gets_a_label_and_an_action() -> None:
    entry = issue_codes().get("something_new")
    assert entry.label("en") == "something_new" and entry.action("zh")


def test_fixed_names_a_donation_and_accepted_needs_a_note() -> None:
    assert parse_closing("fixed", donation_no=" D1 ", note="")[:2] == (Closing.FIXED, "D1")
    assert parse_closing("accepted", donation_no="", note="真实")[0] is Closing.ACCEPTED
    for action, donation_no, note in (("fixed", "", ""), ("accepted", "D1", ""), ("deleted", "D1", "x")):
        with pytest.raises(ValidationFailed):
            parse_closing(action, donation_no=donation_no, note=note)
