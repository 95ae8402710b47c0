"""The interface font (static/fonts/bloodcert-ui-sc.woff2) covers every character the pages' own text uses."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from importlib.resources import files
from pathlib import Path

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

from bloodcert.domain.donation_rules import KIND_LABELS
from bloodcert.web.console import i18n as console_i18n
from bloodcert.web.pages import i18n as page_i18n

STATIC = Path(str(files("bloodcert.web").joinpath("static")))
FONT = STATIC / "fonts" / "bloodcert-ui-sc.woff2"
TEMPLATES = Path(str(files("bloodcert.web").joinpath("templates")))
FRONTEND = Path(__file__).resolve().parents[2] / "frontend" / "src"
FONT_BUDGET = 150 * 1024


def _strings(module: object) -> list[str]:
    """Every string in the module's word lists: dicts whose values are (Chinese, English) pairs."""
    found: list[str] = []
    for value in vars(module).values():
        if isinstance(value, dict):
            for pair in value.values():
                if isinstance(pair, tuple) and all(isinstance(s, str) for s in pair):
                    found.extend(pair)
    return found


def _shown(text: str) -> set[str]:
    return {c for c in text if unicodedata.category(c)[0] not in {"C", "Z"}}


def _cmap() -> set[int]:
    return set(TTFont(FONT).getBestCmap())


def test_every_character_of_the_templates_and_word_lists_is_in_the_font() -> None:
    texts = _strings(page_i18n) + _strings(console_i18n) + [s for pair in KIND_LABELS.values() for s in pair]
    texts += [p.read_text(encoding="utf-8") for p in sorted(TEMPLATES.rglob("*.html"))]
    wanted = set().union(*(_shown(t) for t in texts))
    missing = sorted(c for c in wanted if ord(c) not in _cmap())
    assert missing == []
    assert len([c for c in wanted if "\u4e00" <= c <= "\u9fff"]) > 300


def test_digits_latin_letters_and_punctuation_are_in_the_font() -> None:
    cmap = _cmap()
    assert all(c in cmap for c in range(0x21, 0x7F))
    assert all(ord(c) in cmap for c in "，。：（）“”…·—×✓")


def test_the_font_keeps_within_its_budget() -> None:
    assert 10 * 1024 < FONT.stat().st_size < FONT_BUDGET
    assert FONT.read_bytes()[:4] == b"wOF2"


def test_the_stylesheet_names_the_font_with_its_current_hash() -> None:
    digest = hashlib.sha256(FONT.read_bytes()).hexdigest()[:10]
    url = f"../fonts/bloodcert-ui-sc.woff2?v={digest}"
    assert url in (FRONTEND / "ui-font.css").read_text(encoding="utf-8")
    built = (STATIC / "dist" / "app.css").read_text(encoding="utf-8")
    assert url in built
    family = re.search(r":root\{[^}]*font-family:([^;]+);", built)
    assert family is not None and "bloodcert UI SC" in family.group(1)
