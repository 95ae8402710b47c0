"""A certificate in the layout of the paper 无偿献血证 page, as SVG (glyphs as paths) and PDF (subset font).

One layout, computed in millimetres on an A5 portrait page, feeds both writers, so the SVG and the PDF
show the same thing. Text is measured with the same font that is drawn (Noto Serif SC, see `fonts`).
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from xml.sax.saxutils import escape, quoteattr

import segno
from fpdf import FPDF
from fpdf.drawing import PaintedPath
from fpdf.enums import PathPaintRule, StrokeJoinStyle, TextMode

from bloodcert.certs import fonts
from bloodcert.certs.payload import CertificateContent
from bloodcert.domain.clock import BEIJING
from bloodcert.domain.donation_rules import kind_label

PAGE_W, PAGE_H = 148.0, 210.0  # A5 portrait, close to the paper booklet page
RED = "#B8141F"
INK = "#231F20"
MUTED = "#7A6A6A"
RULE = "#D9A5A5"
WHITE = "#FFFFFF"
QR_BORDER = 4  # modules of quiet zone, as ISO/IEC 18004 asks
DEFAULT_ISSUER = "中华人民共和国国家卫生健康委员会"

RHD = {"positive": "RhD阳性", "negative": "RhD阴性"}
WATERMARKS = {"revoked": ("已作废", "REVOKED"), "superseded": ("已更正", "SUPERSEDED")}


@dataclass(frozen=True, slots=True)
class CertificateView:
    """What a rendered certificate (电子无偿献血证) shows: signed content plus site, QR text and status."""

    certificate_no: str
    holder_name: str
    id_number_masked: str
    abo: str
    rhd: str | None
    donated_on: date
    kind: str
    volume_ml: int | None
    units: int | None
    station_name: str
    site_name: str
    qr: str
    status: str = "active"
    issuer: str = DEFAULT_ISSUER

    @classmethod
    def of(
        cls, content: CertificateContent, *, site_name: str, qr: str, status: str = "active"
    ) -> CertificateView:
        """The view of signed certificate content."""
        return cls(
            certificate_no=content.certificate_no,
            holder_name=content.holder_name,
            id_number_masked=content.id_number_masked,
            abo=content.abo,
            rhd=content.rhd,
            donated_on=content.donated_on,
            kind=content.kind,
            volume_ml=content.volume_ml,
            units=content.units,
            station_name=content.station_name,
            site_name=site_name,
            qr=qr,
            status=status,
        )


# ---- wording -------------------------------------------------------------------------------------------


def blood_type_text(abo: str, rhd: str | None) -> str:
    """`A型 RhD阳性`; the RhD part is left out when it was not tested."""
    abo_text = f"{abo}型" if abo in {"A", "B", "O", "AB"} else abo
    return f"{abo_text} {RHD[rhd]}" if rhd in RHD else abo_text


def amount_text(kind: str, volume_ml: int | None, units: int | None) -> str:
    """`400毫升` for whole blood and plasma, `2个治疗量` for platelets."""
    if kind == "platelets" and units is not None:
        return f"{units}个治疗量"
    if volume_ml is not None:
        return f"{volume_ml}毫升"
    return f"{units}个治疗量" if units is not None else "—"


def date_text(day: date) -> str:
    """`2024年5月12日`."""
    return f"{day.year}年{day.month}月{day.day}日"


def _fields(view: CertificateView) -> list[tuple[str, str, str]]:
    return [
        ("姓名", "Name", view.holder_name),
        ("证件号码", "ID number", view.id_number_masked),
        ("血型", "Blood type", blood_type_text(view.abo, view.rhd)),
        ("献血日期", "Date of donation", date_text(view.donated_on)),
        ("献血种类", "Type of donation", kind_label(view.kind)),
        ("献血量", "Amount donated", amount_text(view.kind, view.volume_ml, view.units)),
        ("采血机构", "Collected by", view.station_name),
        ("献血地点", "Donation site", view.site_name),
        ("证书编号", "Certificate No.", view.certificate_no),
    ]


# ---- layout primitives (millimetres, y down, text at its baseline) ---------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    """One run of text, already measured: `x` is its left edge."""

    x: float
    y: float
    size: float
    text: str
    color: str = INK
    bold: bool = False
    rotate: float = 0.0  # degrees counter-clockwise, about `pivot`
    pivot: tuple[float, float] = (0.0, 0.0)
    opacity: float = 1.0


@dataclass(frozen=True, slots=True)
class Line:
    """A straight stroke, solid or dashed."""

    x1: float
    y1: float
    x2: float
    y2: float
    width: float
    color: str
    dash: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle, stroked and/or filled."""

    x: float
    y: float
    w: float
    h: float
    stroke: str | None = None
    width: float = 0.0
    fill: str | None = None


@dataclass(frozen=True, slots=True)
class Shape:
    """An outline of move (M), line (L), cubic curve (C) and close (Z) commands, filled and/or stroked."""

    commands: tuple[tuple[str, tuple[float, ...]], ...]
    fill: str | None = None
    stroke: str | None = None
    width: float = 0.0
    opacity: float = 1.0


@dataclass(frozen=True, slots=True)
class QR:
    """The QR code: dark runs of modules (row, first column, length), quiet zone included in `modules`."""

    x: float
    y: float
    module: float
    modules: int
    runs: tuple[tuple[int, int, int], ...]


Item = Text | Line | Box | Shape | QR


@dataclass(slots=True)
class Page:
    """Everything drawn on the certificate page, in painting order."""

    items: list[Item] = field(default_factory=list)


# ---- layout --------------------------------------------------------------------------------------------


def _face() -> fonts.Face:
    return fonts.serif()


def centred(run: Text) -> Text:
    """`run` moved to the middle of the page."""
    return replace(run, x=(PAGE_W - _face().width(run.text, run.size)) / 2)


def spread(run: Text, width: float) -> Iterator[Text]:
    """`run`'s characters spread evenly over `width`, as Chinese forms set labels (分散对齐)."""
    face = _face()
    text, x = run.text, run.x
    gap = (width - face.width(text, run.size)) / (len(text) - 1) if len(text) > 1 else 0.0
    for char in text:
        yield replace(run, x=x, text=char)
        x += face.advance(char) * run.size + gap


def fit(text: str, width: float, size: float, min_size: float) -> tuple[float, list[str]]:
    """Shrink `text` to fit `width`, down to `min_size`; past that wrap to two lines, cutting the rest."""
    face = _face()
    full = face.width(text, size)
    if full <= width:
        return size, [text]
    if face.width(text, min_size) <= width:
        return size * width / full, [text]
    lines, rest = [], text
    for _ in range(2):
        cut = len(rest)
        while cut > 1 and face.width(rest[:cut], min_size) > width:
            cut -= 1
        lines.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        last = lines[-1]
        while last and face.width(last + "…", min_size) > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return min_size, lines


def layout(view: CertificateView) -> Page:
    """Place every element of the certificate on an A5 page."""
    face = _face()
    page = Page()
    page.items.extend(_frame())
    page.items.extend(_header(view.issuer))
    for index, (label, english, value) in enumerate(_fields(view)):
        page.items.extend(
            _field(FIELDS_TOP + index * FIELD_PITCH, label, english, face.printable(value), index == 0)
        )
    page.items.extend(_qr_block(view.qr, y=149.0, size=44.0))
    if view.status != "active":
        page.items.extend(_watermark(view.status))
    return page


def _frame() -> Iterator[Item]:
    yield Box(0, 0, PAGE_W, PAGE_H, fill=WHITE)
    yield Box(5, 5, PAGE_W - 10, PAGE_H - 10, stroke=RED, width=0.7)
    yield Box(6.5, 6.5, PAGE_W - 13, PAGE_H - 13, stroke=RED, width=0.2)
    for cx, cy in ((6.5, 6.5), (PAGE_W - 6.5, 6.5), (6.5, PAGE_H - 6.5), (PAGE_W - 6.5, PAGE_H - 6.5)):
        yield Box(cx - 1.2, cy - 1.2, 2.4, 2.4, fill=RED)


def _header(issuer: str) -> Iterator[Item]:
    yield from _emblem(PAGE_W / 2, 17.5)
    yield from spread(Text((PAGE_W - 76) / 2, 36.0, 11.5, "无偿献血证", color=RED, bold=True), 76.0)
    yield centred(Text(0, 41.8, 2.9, "CERTIFICATE OF VOLUNTARY BLOOD DONATION", color=RED))
    size, lines = fit(_face().printable(issuer), 112.0, 4.0, 3.0)
    yield centred(Text(0, 48.2, size, lines[0]))
    yield Line(16, 51.8, PAGE_W - 16, 51.8, 0.5, RED)
    yield Line(16, 52.7, PAGE_W - 16, 52.7, 0.15, RED)


def _emblem(cx: float, cy: float) -> Iterator[Item]:
    """A blood drop in a ring, the symbol of voluntary donation."""
    yield Shape(_circle(cx, cy, 6.4), stroke=RED, width=0.35)

    def at(*points: float) -> tuple[float, ...]:
        return tuple(p + (cx if i % 2 == 0 else cy) for i, p in enumerate(points))

    drop = (
        ("M", at(0, -4.6)),
        ("C", at(1.0, -2.8, 3.1, -0.9, 3.1, 1.5)),
        ("C", at(3.1, 3.3, 1.7, 4.6, 0, 4.6)),
        ("C", at(-1.7, 4.6, -3.1, 3.3, -3.1, 1.5)),
        ("C", at(-3.1, -0.9, -1.0, -2.8, 0, -4.6)),
        ("Z", ()),
    )
    yield Shape(drop, fill=RED)
    shine = (
        ("M", at(-1.9, 1.3)),
        ("C", at(-1.9, 2.6, -1.1, 3.4, -0.1, 3.6)),
        ("C", at(-1.5, 3.6, -2.4, 2.6, -2.4, 1.3)),
        ("Z", ()),
    )
    yield Shape(shine, fill=WHITE)


def _circle(cx: float, cy: float, r: float) -> tuple[tuple[str, tuple[float, ...]], ...]:
    k = 0.5523 * r  # the usual four-arc Bézier approximation of a circle
    return (
        ("M", (cx + r, cy)),
        ("C", (cx + r, cy + k, cx + k, cy + r, cx, cy + r)),
        ("C", (cx - k, cy + r, cx - r, cy + k, cx - r, cy)),
        ("C", (cx - r, cy - k, cx - k, cy - r, cx, cy - r)),
        ("C", (cx + k, cy - r, cx + r, cy - k, cx + r, cy)),
        ("Z", ()),
    )


LABEL_X, VALUE_X, VALUE_RIGHT = 16.0, 45.0, PAGE_W - 16.0
FIELDS_TOP, FIELD_PITCH = 61.0, 9.9


def _field(y: float, label: str, english: str, value: str, prominent: bool) -> Iterator[Item]:
    yield from spread(Text(LABEL_X, y, 4.2, label, color=RED, bold=True), 16.8)
    yield Text(LABEL_X, y + 3.5, 2.5, english, color=MUTED)
    size, lines = fit(value, VALUE_RIGHT - VALUE_X, 6.0 if prominent else 5.0, 3.6)
    if len(lines) == 1:
        yield Text(VALUE_X, y + 1.5, size, lines[0], bold=prominent)
    else:
        yield Text(VALUE_X, y - 0.6, size, lines[0])
        yield Text(VALUE_X, y + 3.6, size, lines[1])
    yield Line(VALUE_X - 1, y + 5.0, VALUE_RIGHT, y + 5.0, 0.15, RULE, dash=(0.6, 0.5))


def qr_symbol(qr_text: str) -> segno.QRCode:
    """The QR code of a `BC1:` text: alphanumeric mode, error correction level Q, never silently raised."""
    return segno.make(qr_text, error="q", mode="alphanumeric", boost_error=False)


def qr_item(qr_text: str, x: float, y: float, size: float) -> QR:
    """The QR code of a `BC1:` text as a layout item, `size` millimetres square with its quiet zone."""
    modules, runs = _qr_runs(qr_symbol(qr_text))
    return QR(x, y, size / modules, modules, runs)


def _qr_runs(symbol: segno.QRCode) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    # The SVG and the PDF both need the modules placed inside a larger page, which segno's writers (each a
    # standalone document) do not offer, so dark runs are read off its matrix and drawn by both writers.
    runs = []
    rows = list(symbol.matrix_iter(scale=1, border=QR_BORDER))
    for r, row in enumerate(rows):
        start = None
        for c, dark in enumerate([*row, False]):
            if dark and start is None:
                start = c
            elif not dark and start is not None:
                runs.append((r, start, c - start))
                start = None
    return len(rows), tuple(runs)


def _qr_block(qr_text: str, y: float, size: float) -> Iterator[Item]:
    modules, runs = _qr_runs(qr_symbol(qr_text))
    x = (PAGE_W - size) / 2
    yield Box(x, y, size, size, fill=WHITE)
    yield QR(x, y, size / modules, modules, runs)
    yield centred(Text(0, y + size + 4.4, 2.6, "扫码验证真伪  Scan to verify", color=MUTED))


def _watermark(status: str) -> Iterator[Item]:
    """A rubber stamp across the page: 已作废 (revoked) or 已更正 (superseded by a correction)."""
    chinese, english = WATERMARKS.get(status, ("已失效", "NOT VALID"))
    angle, pivot = 28.0, (PAGE_W / 2, 100.0)
    yield Shape(_rotated_box(pivot, 104.0, 50.0, angle), stroke=RED, width=1.6, opacity=0.4)
    yield Shape(_rotated_box(pivot, 98.0, 44.0, angle), stroke=RED, width=0.4, opacity=0.4)
    stamp = Text(0, pivot[1] + 4.0, 26.0, chinese, color=RED, rotate=angle, pivot=pivot, opacity=0.4)
    yield centred(stamp)
    yield centred(replace(stamp, y=pivot[1] + 15.5, size=7.5, text=english))


def _rotated_box(
    centre: tuple[float, float], w: float, h: float, angle: float
) -> tuple[tuple[str, tuple[float, ...]], ...]:
    cx, cy = centre
    # Counter-clockwise on the page, whose y axis points down.
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    corners = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    points = [(cx + x * cos + y * sin, cy - x * sin + y * cos) for x, y in corners]
    return (("M", points[0]), *(("L", p) for p in points[1:]), ("Z", ()))


# ---- SVG -----------------------------------------------------------------------------------------------


def _n(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def _k(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def render_svg(view: CertificateView) -> str:
    """The certificate as a standalone, responsive SVG; text drawn as glyph outlines, so no font is needed."""
    face = _face()
    page = layout(view)
    # Ids are prefixed per certificate so that two certificates inlined in one HTML page do not collide.
    prefix = "c" + hashlib.blake2s(view.certificate_no.encode(), digest_size=4).hexdigest()
    glyphs: dict[str, str] = {}
    body = [_svg_item(item, face, prefix, glyphs) for item in page.items]
    defs = "".join(f'<path id="{prefix}-{gid}" d="{fonts.outline(name)}"/>' for name, gid in glyphs.items())
    kind = kind_label(view.kind)
    amount = amount_text(view.kind, view.volume_ml, view.units)
    # Through `printable` too: XML 1.0 cannot carry control characters even when escaped.
    summary = escape(
        face.printable(
            f"无偿献血证 {view.certificate_no}：{view.holder_name}，{date_text(view.donated_on)}，"
            f"{kind} {amount}，{view.station_name}"
        )
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'viewBox="0 0 {_n(PAGE_W)} {_n(PAGE_H)}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'role="img" aria-labelledby="{prefix}-title" lang="zh-CN">'
        f'<title id="{prefix}-title">{summary}</title>'
        f"<defs>{defs}</defs>{''.join(body)}</svg>"
    )


def _svg_item(item: Item, face: fonts.Face, prefix: str, glyphs: dict[str, str]) -> str:
    if isinstance(item, Text):
        return _svg_text(item, face, prefix, glyphs)
    if isinstance(item, Line):
        dash = f' stroke-dasharray="{_n(item.dash[0])} {_n(item.dash[1])}"' if item.dash else ""
        return (
            f'<line x1="{_n(item.x1)}" y1="{_n(item.y1)}" x2="{_n(item.x2)}" y2="{_n(item.y2)}" '
            f'stroke="{item.color}" stroke-width="{_n(item.width)}"{dash}/>'
        )
    if isinstance(item, Box):
        paint = f'fill="{item.fill}"' if item.fill else 'fill="none"'
        if item.stroke:
            paint += f' stroke="{item.stroke}" stroke-width="{_n(item.width)}"'
        return f'<rect x="{_n(item.x)}" y="{_n(item.y)}" width="{_n(item.w)}" height="{_n(item.h)}" {paint}/>'
    if isinstance(item, Shape):
        d = "".join(op + " ".join(_n(v) for v in args) for op, args in item.commands)
        paint = f'fill="{item.fill or "none"}"'
        if item.stroke:
            paint += f' stroke="{item.stroke}" stroke-width="{_n(item.width)}" stroke-linejoin="round"'
        if item.opacity < 1:
            paint += f' opacity="{_n(item.opacity)}"'
        return f'<path d="{d}" {paint}/>'
    d = "".join(f"M{x} {r}h{n}v1h-{n}z" for r, x, n in item.runs)
    # Module units inside, scaled once: keeps the path short and the modules exactly aligned.
    transform = f"translate({_n(item.x)} {_n(item.y)}) scale({_k(item.module)})"
    return f'<path transform="{transform}" d="{d}" fill="#000" shape-rendering="crispEdges"/>'


def _svg_text(item: Text, face: fonts.Face, prefix: str, glyphs: dict[str, str]) -> str:
    scale = item.size / face.units_per_em
    uses, x = [], item.x
    for char in item.text:
        if not char.isspace():
            name = face.glyph_name(char)
            gid = glyphs.setdefault(name, f"g{len(glyphs)}")
            transform = f"matrix({_k(scale)} 0 0 {_k(-scale)} {_n(x)} {_n(item.y)})"
            uses.append(f'<use xlink:href="#{prefix}-{gid}" transform="{transform}"/>')
        x += face.advance(char) * item.size
    attrs = f'fill="{item.color}"'
    if item.bold:
        # Faux bold: the package ships one weight, so outlines are thickened with a stroke (3.5% of an em).
        attrs += (
            f' stroke="{item.color}" stroke-width="{_n(face.units_per_em * 0.035)}" stroke-linejoin="round"'
        )
    if item.opacity < 1:
        attrs += f' opacity="{_n(item.opacity)}"'
    if item.rotate:
        attrs += f' transform="rotate({_n(-item.rotate)} {_n(item.pivot[0])} {_n(item.pivot[1])})"'
    return f"<g {attrs} aria-label={quoteattr(item.text)}>{''.join(uses)}</g>"


# ---- PDF -----------------------------------------------------------------------------------------------

FAMILY = "NotoSerifSC"
PT_PER_MM = 72 / 25.4


def render_pdf(view: CertificateView) -> bytes:
    """The certificate as a one-page PDF with a subset of Noto Serif SC embedded (renders anywhere)."""
    return render_pdf_pages(
        [layout(view)],
        size=(PAGE_W, PAGE_H),
        title=f"无偿献血证 {view.certificate_no}",
        subject="Certificate of Voluntary Blood Donation",
        # A fixed date keeps the bytes (and the file /ID derived from them) the same for the same certificate.
        created=datetime.combine(view.donated_on, datetime.min.time(), BEIJING),
    )


def render_pdf_pages(
    pages: list[Page], *, size: tuple[float, float], title: str, subject: str, created: datetime
) -> bytes:
    """Laid-out pages (millimetres) as a PDF with the subset of Noto Serif SC their text needs."""
    face = _face()
    pdf = FPDF(unit="mm", format=size)
    pdf.set_auto_page_break(auto=False)
    pdf.set_margin(0)
    pdf.set_creation_date(created)
    pdf.set_title(face.printable(title))
    pdf.set_subject(subject)
    pdf.set_creator("bloodcert")
    pdf.set_lang("zh-CN")
    used = {ord(c) for page in pages for item in page.items if isinstance(item, Text) for c in item.text}
    # Only the characters on these pages are read from the font's map: most of the 30,000 are never needed.
    pdf.add_font(FAMILY, "", str(face.path), unicode_range=sorted(used | {ord(" ")}))
    for page in pages:
        pdf.add_page()
        for item in page.items:
            _pdf_item(pdf, item)
    return bytes(pdf.output())


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _pdf_item(pdf: FPDF, item: Item) -> None:
    if isinstance(item, Text):
        _pdf_text(pdf, item)
    elif isinstance(item, Line):
        with pdf.local_context():
            pdf.set_draw_color(*_rgb(item.color))
            pdf.set_line_width(item.width)
            if item.dash:
                pdf.set_dash_pattern(dash=item.dash[0], gap=item.dash[1])
            pdf.line(item.x1, item.y1, item.x2, item.y2)
    elif isinstance(item, Box):
        with pdf.local_context():
            style = ("F" if item.fill else "") + ("D" if item.stroke else "")
            if item.fill:
                pdf.set_fill_color(*_rgb(item.fill))
            if item.stroke:
                pdf.set_draw_color(*_rgb(item.stroke))
                pdf.set_line_width(item.width)
            pdf.rect(item.x, item.y, item.w, item.h, style=style)
    elif isinstance(item, Shape):
        _pdf_shape(pdf, item)
    else:
        _pdf_qr(pdf, item)


def _pdf_text(pdf: FPDF, item: Text) -> None:
    with pdf.local_context(fill_opacity=item.opacity, stroke_opacity=item.opacity):
        pdf.set_font(FAMILY, size=item.size * PT_PER_MM)
        pdf.set_text_color(*_rgb(item.color))
        if item.bold:
            pdf.set_draw_color(*_rgb(item.color))
            pdf.text_mode = TextMode.FILL_STROKE
            # fpdf2 writes the text stroke width as given, in points.
            pdf.line_width = item.size * 0.035 * PT_PER_MM
        if item.rotate:
            with pdf.rotation(item.rotate, *item.pivot):
                pdf.text(item.x, item.y, item.text)
        else:
            pdf.text(item.x, item.y, item.text)


def _pdf_shape(pdf: FPDF, item: Shape) -> None:
    path = PaintedPath()
    path.style.paint_rule = PathPaintRule.STROKE if item.fill is None else PathPaintRule.FILL_NONZERO
    if item.fill:
        path.style.fill_color = item.fill
    if item.stroke:
        path.style.paint_rule = PathPaintRule.STROKE_FILL_NONZERO if item.fill else PathPaintRule.STROKE
        path.style.stroke_color = item.stroke
        path.style.stroke_width = item.width
        path.style.stroke_join_style = StrokeJoinStyle.ROUND
    if item.opacity < 1:
        path.style.fill_opacity = item.opacity
        path.style.stroke_opacity = item.opacity
    for op, args in item.commands:
        if op == "M":
            path.move_to(*args)
        elif op == "L":
            path.line_to(*args)
        elif op == "C":
            path.curve_to(*args)
        else:
            path.close()
    _draw(pdf, path)


def _pdf_qr(pdf: FPDF, item: QR) -> None:
    # One filled path of all dark runs: abutting modules are painted together, so no hairline seams.
    path = PaintedPath()
    path.style.paint_rule = PathPaintRule.FILL_NONZERO
    path.style.fill_color = "#000000"
    m = item.module
    for row, col, length in item.runs:
        path.rectangle(item.x + col * m, item.y + row * m, length * m, m)
    _draw(pdf, path)


def _draw(pdf: FPDF, path: PaintedPath) -> None:
    # Each path is built for one use, so fpdf2's defensive deep copy (most of the QR's cost) is skipped.
    with pdf.drawing_context() as context:
        context.add_item(path, clone=False)


# ---- QR helpers ----------------------------------------------------------------------------------------


def qr_version(qr_text: str) -> int:
    """The QR version (1–40) that the certificate's code uses for `qr_text`."""
    return int(qr_symbol(qr_text).version)


def qr_png(qr_text: str, scale: int = 4) -> bytes:
    """The certificate's QR code alone as a PNG, with its quiet zone (for tests and for printing)."""
    buffer = io.BytesIO()
    qr_symbol(qr_text).save(buffer, kind="png", scale=scale, border=QR_BORDER)
    return buffer.getvalue()
