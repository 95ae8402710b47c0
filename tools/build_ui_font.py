"""Build the pages' interface font: a WOFF2 subset of Noto Sans SC with the characters the pages use.

A phone or PC without a Chinese system font would show every label as an empty box. The pages name
this font last among the CJK fonts in their stylesheet, so a device that has one of those never
downloads it. It covers the interface's own text — every character of the templates and of the
page and console word lists, plus printable ASCII and common Chinese punctuation — and nothing else:
names of donors, stations and places fall back to the device's fonts.

Run from the repository root after changing a template or a word list (needs the `brotli` package):

    .venv/bin/python tools/build_ui_font.py

The source is the Noto Sans SC of `pylopdf-fonts-zh-cn`, the package the certificate renderer
takes its Noto Serif SC from (SIL Open Font License 1.1, which allows subsetting and redistribution).
"""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

import pylopdf_fonts_zh_cn
from fontTools import subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "bloodcert"
OUTPUT = PACKAGE / "web" / "static" / "fonts" / "bloodcert-ui-sc.woff2"
FONT_FACE_CSS = ROOT / "frontend" / "src" / "ui-font.css"
SOURCE = Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSansSC-Regular.otf"

# Where the interface's words live: templates, and the modules that hold the word lists.
TEXT_SOURCES = (
    PACKAGE / "web" / "templates",
    PACKAGE / "web" / "pages" / "i18n.py",
    PACKAGE / "web" / "pages" / "notify_words.py",
    PACKAGE / "web" / "console" / "i18n.py",
    PACKAGE / "web" / "console" / "views.py",
    PACKAGE / "web" / "pages" / "views.py",
    PACKAGE / "identity" / "providers",
    PACKAGE / "domain" / "donation_rules.py",
    # Rules of the field whose words the pages show: the health questions, the data-quality findings.
    PACKAGE / "data" / "health_check",
    PACKAGE / "data" / "quality",
    ROOT / "frontend" / "src",
)
# Always in: printable ASCII, and the punctuation and signs Chinese text and the stylesheet use.
ALWAYS = "".join(chr(c) for c in range(0x20, 0x7F)) + "，。、：；！？（）【】《》“”‘’—…·～￥✓□－"


def interface_characters() -> set[str]:
    """Every printable character of the interface's text sources, plus ALWAYS."""
    chars = set(ALWAYS)
    for source in TEXT_SOURCES:
        paths = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        for path in paths:
            chars.update(path.read_text(encoding="utf-8"))
    return {c for c in chars if unicodedata.category(c)[0] not in {"C", "Z"} or c == " "}


def build(output: Path = OUTPUT) -> tuple[int, int]:
    """Write the subset; returns (characters kept, bytes written)."""
    font = TTFont(SOURCE, recalcTimestamp=False)  # the same input gives the same bytes
    cmap = font.getBestCmap()
    wanted = sorted(ord(c) for c in interface_characters() if ord(c) in cmap)
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["kern", "liga", "locl", "palt", "vert", "vrt2"]
    options.name_IDs = ["*"]  # the OFL asks that the copyright and licence notices stay
    options.hinting = False
    options.desubroutinize = True  # smaller once brotli has compressed it
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)
    output.parent.mkdir(parents=True, exist_ok=True)
    font.flavor = "woff2"
    font.save(output)
    _write_font_face(output)
    return len(wanted), output.stat().st_size


def _write_font_face(font_file: Path) -> None:
    """The @font-face rule, with the file's hash in its URL: a changed subset is never served stale."""
    digest = hashlib.sha256(font_file.read_bytes()).hexdigest()[:10]
    FONT_FACE_CSS.write_text(
        "/* Written by tools/build_ui_font.py: the interface's own characters, for devices without a\n"
        "   Chinese font. Names of people and places fall back to the device's fonts. */\n"
        "@font-face {\n"
        '  font-family: "bloodcert UI SC";\n'
        f'  src: url("../fonts/{font_file.name}?v={digest}") format("woff2");\n'
        "  font-display: swap;\n"
        "}\n",
        encoding="utf-8",
    )


def main() -> None:
    """Regenerate the subset font and say how big it is."""
    kept, size = build()
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {kept} characters, {size / 1024:.1f} KiB")
    print("now rebuild the stylesheet: cd frontend && npm run build")


if __name__ == "__main__":
    main()
