"""The certificate's typeface, Noto Serif SC (思源宋体), from the `pylopdf-fonts-zh-cn` package (SIL OFL 1.1).

The font comes from a pip package, never from the host's font directories, so every machine renders a
certificate the same way. It is parsed once per process and kept; glyph outlines are cached as SVG paths.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pylopdf_fonts_zh_cn
from fontTools.pens.svgPathPen import SVGPathPen  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

# Shown for a character the font lacks, as Chinese print does for a missing character (缺字).
MISSING_MARK = "□"


@dataclass(frozen=True, slots=True)
class Face:
    """A parsed font: its file (for PDF embedding), character map, advances and outlines."""

    path: Path
    units_per_em: int
    cmap: dict[int, str]
    advances: dict[str, int]
    glyph_set: Any

    def glyph_name(self, char: str) -> str:
        """The glyph drawn for `char` (callers first pass text through `printable`)."""
        return self.cmap.get(ord(char)) or self.cmap[ord(MISSING_MARK)]

    def advance(self, char: str) -> float:
        """The advance width of `char` in em."""
        return self.advances[self.glyph_name(char)] / self.units_per_em

    def width(self, text: str, size: float) -> float:
        """The width of `text` at `size` (in the caller's unit), without kerning, as PDF viewers set it."""
        return sum(self.advance(char) for char in text) * size

    def printable(self, text: str) -> str:
        """`text` with control characters turned into spaces and characters the font lacks into □."""
        out = []
        for char in text:
            if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}:
                out.append(" ")
            elif ord(char) in self.cmap:
                out.append(char)
            else:
                out.append(MISSING_MARK)
        return "".join(out)


@functools.cache
def serif() -> Face:
    """Noto Serif SC Regular, loaded once per process."""
    path = pylopdf_fonts_zh_cn.serif_path()
    # lazy=True keeps the 11 MB CFF table undecoded until a glyph is actually drawn.
    font = TTFont(path, lazy=True)
    hmtx = font["hmtx"]
    advances = {name: int(metric[0]) for name, metric in hmtx.metrics.items()}
    return Face(
        path=path,
        units_per_em=int(font["head"].unitsPerEm),
        cmap=dict(font.getBestCmap()),
        advances=advances,
        glyph_set=font.getGlyphSet(),
    )


_outline_lock = threading.Lock()


@functools.lru_cache(maxsize=4096)
def outline(glyph_name: str) -> str:
    """The SVG path data of one glyph of `serif()`, in font units with y pointing up."""
    glyph_set = serif().glyph_set
    pen = SVGPathPen(glyph_set)
    # The lazily loaded font decodes glyphs on first use, which is not safe from two threads at once.
    with _outline_lock:
        glyph_set[glyph_name].draw(pen)
    return str(pen.getCommands())
