"""The volunteer-hours statement (无偿献血志愿服务时长证明) as an A4 PDF with a QR code that verifies.

Page one holds who, the total hours, the hours by conversion table and the QR code; the donations counted
follow, as many pages as they need. Laid out in millimetres with the certificate's items and font
(`render`), so it renders the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from bloodcert.certs import fonts
from bloodcert.certs.render import (
    DEFAULT_ISSUER,
    INK,
    MUTED,
    RED,
    RULE,
    WHITE,
    Box,
    Item,
    Line,
    Page,
    Text,
    amount_text,
    date_text,
    fit,
    qr_item,
    render_pdf_pages,
)
from bloodcert.certs.statement import HoursStatementContent
from bloodcert.domain.clock import BEIJING
from bloodcert.domain.donation_rules import kind_label

A4_W, A4_H = 210.0, 297.0
LEFT, RIGHT = 18.0, A4_W - 18.0
BOTTOM = 278.0  # the last baseline a donation line may take
LINE_PITCH = 6.2
TABLES_TOP = 118.0


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One donation counted, with the table that converted it and the hours it gave."""

    donated_on: date
    kind: str
    volume_ml: int | None
    units: int | None
    place: str
    table: str
    hours: int


@dataclass(frozen=True, slots=True)
class TableUse:
    """One conversion table as the statement shows it: its rates in words, donations and hours."""

    table: str
    conversion: str
    donations: int
    hours: int


@dataclass(frozen=True, slots=True)
class StatementView:
    """Everything a statement page shows: the signed content, the tables' wording, the lines, the QR."""

    content: HoursStatementContent
    issued_at: datetime
    tables: tuple[TableUse, ...]
    lines: tuple[StatementLine, ...]
    qr: str
    issuer: str = DEFAULT_ISSUER


def _face() -> fonts.Face:
    return fonts.serif()


def _right(x: float, y: float, size: float, text: str, color: str = INK, *, bold: bool = False) -> Text:
    """A run whose right edge is at `x`."""
    return Text(x - _face().width(text, size), y, size, text, color=color, bold=bold)


def _clip(text: str, width: float, size: float) -> str:
    """`text` cut to `width` with an ellipsis."""
    face = _face()
    text = face.printable(text)
    if face.width(text, size) <= width:
        return text
    while text and face.width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def _centred(y: float, size: float, text: str, color: str = INK, *, bold: bool = False) -> Text:
    return Text((A4_W - _face().width(text, size)) / 2, y, size, text, color=color, bold=bold)


def layout_statement(view: StatementView) -> list[Page]:
    """Every page of the statement."""
    first = Page()
    first.items.extend(_frame())
    first.items.extend(_header(view))
    first.items.extend(_facts(view))
    first.items.extend(_qr(view))
    tables, y = _tables(view, TABLES_TOP)
    first.items.extend(tables)
    y += 14.0
    pages = [first]
    page = first
    page.items.extend(_lines_heading(y))
    y += 13.0
    for line in view.lines:
        if y > BOTTOM:
            page = Page()
            page.items.extend(_frame())
            page.items.append(
                Text(LEFT, 22.0, 3.2, _clip(f"{view.content.holder_name} · 续 continued", 120, 3.2), MUTED)
            )
            pages.append(page)
            page.items.extend(_lines_heading(32.0))
            y = 45.0
        page.items.extend(_line(line, y))
        y += LINE_PITCH
    if y + 14 > BOTTOM + 8:
        page = Page()
        page.items.extend(_frame())
        pages.append(page)
        y = 30.0
    page.items.extend(_note(y + 4.0))
    for number, each in enumerate(pages, start=1):
        footer = f"第 {number} 页 共 {len(pages)} 页 · Page {number} of {len(pages)} · {view.content.serial}"
        each.items.append(_centred(A4_H - 12.0, 2.6, footer, MUTED))
    return pages


def _frame() -> Iterator[Item]:
    yield Box(0, 0, A4_W, A4_H, fill=WHITE)
    yield Box(8, 8, A4_W - 16, A4_H - 16, stroke=RED, width=0.6)
    yield Box(9.5, 9.5, A4_W - 19, A4_H - 19, stroke=RED, width=0.2)


def _header(view: StatementView) -> Iterator[Item]:
    yield _centred(26.0, 8.0, "无偿献血志愿服务时长证明", RED, bold=True)
    yield _centred(32.0, 2.8, "STATEMENT OF VOLUNTEER SERVICE HOURS · VOLUNTARY BLOOD DONATION", RED)
    yield _centred(38.0, 3.6, _clip(view.issuer, 150, 3.6))
    yield Line(LEFT, 41.5, RIGHT, 41.5, 0.5, RED)
    yield Line(LEFT, 42.4, RIGHT, 42.4, 0.15, RED)


def _facts(view: StatementView) -> Iterator[Item]:
    c = view.content
    period = "—"
    if c.first_on and c.last_on:
        period = f"{date_text(c.first_on)} 至 {date_text(c.last_on)}"
    facts = [
        ("姓名", "Name", c.holder_name, True),
        ("证件号码", "ID number", c.id_number_masked, False),
        ("服务时长", "Volunteer hours", f"{c.hours} 小时", True),
        ("计入献血", "Donations counted", f"{c.donations} 次", False),
        ("献血期间", "Period", period, False),
        ("出具日期", "Date of issue", date_text(view.issued_at.astimezone(BEIJING).date()), False),
    ]
    y = 52.0
    for label, english, value, prominent in facts:
        yield Text(LEFT, y, 4.0, label, color=RED, bold=True)
        yield Text(LEFT, y + 3.3, 2.3, english, color=MUTED)
        size, lines = fit(_face().printable(value), 86.0, 5.2 if prominent else 4.4, 3.4)
        shown = lines[0] if len(lines) == 1 else _clip(value, 86.0, size)
        yield Text(52.0, y + 1.2, size, shown, bold=prominent)
        yield Line(51.0, y + 4.6, 140.0, y + 4.6, 0.15, RULE, dash=(0.6, 0.5))
        y += 10.0


def _qr(view: StatementView) -> Iterator[Item]:
    x, y, size = 146.0, 48.0, 46.0
    yield Box(x, y, size, size, fill=WHITE)
    yield qr_item(view.qr, x, y, size)
    until = view.content.expires_at.astimezone(BEIJING).date()
    middle = x + size / 2
    for offset, text in (
        (4.2, "扫码验证真伪  Scan to verify"),
        (8.2, f"有效期至 Valid until {until.isoformat()}"),
    ):
        yield Text(middle - _face().width(text, 2.5) / 2, y + size + offset, 2.5, text, color=MUTED)


# Hours by conversion table: the columns' left edges (count and hours are right-aligned at theirs).
COL_TABLE, COL_CONVERSION, COL_COUNT, COL_HOURS = LEFT, 50.0, 170.0, RIGHT
CONVERSION_WIDTH, CONVERSION_SIZE = 96.0, 2.9


def _wrap_parts(text: str, width: float, size: float) -> list[str]:
    """`text` in lines no wider than `width`, broken after its `；` (each part cut if alone too wide)."""
    face = _face()
    parts = [p + "；" for p in text.split("；")]
    parts[-1] = parts[-1][:-1]
    lines: list[str] = []
    for part in parts:
        if lines and face.width(lines[-1] + part, size) <= width:
            lines[-1] += part
        else:
            lines.append(_clip(part, width, size))
    return lines


def _tables(view: StatementView, y: float) -> tuple[list[Item], float]:
    """The hours by conversion table, from `y`; and the baseline after the total."""
    items: list[Item] = [
        Text(LEFT, y, 4.4, "按折算标准统计", color=RED, bold=True),
        Text(LEFT + _face().width("按折算标准统计", 4.4) + 3, y, 2.6, "Hours by conversion table", MUTED),
    ]
    y += 7.0
    items += [
        Text(COL_TABLE, y, 2.8, "折算标准 Table", color=MUTED),
        Text(COL_CONVERSION, y, 2.8, "折算方式 Conversion", color=MUTED),
        _right(COL_COUNT, y, 2.8, "次数 Donations", color=MUTED),
        _right(COL_HOURS, y, 2.8, "小时 Hours", color=MUTED),
        Line(LEFT, y + 1.8, RIGHT, y + 1.8, 0.2, RULE),
    ]
    y += 7.0
    for use in view.tables:
        lines = _wrap_parts(_face().printable(use.conversion), CONVERSION_WIDTH, CONVERSION_SIZE)
        items += [
            Text(COL_TABLE, y, 3.6, _clip(use.table, 30, 3.6)),
            *(Text(COL_CONVERSION, y + i * 4.0, CONVERSION_SIZE, line) for i, line in enumerate(lines)),
            _right(COL_COUNT, y, 3.6, str(use.donations)),
            _right(COL_HOURS, y, 3.6, str(use.hours)),
        ]
        y += 4.0 * (len(lines) - 1)
        items.append(Line(LEFT, y + 2.4, RIGHT, y + 2.4, 0.12, RULE, dash=(0.6, 0.5)))
        y += 7.5
    items += [
        Text(COL_TABLE, y, 3.8, "合计 Total", bold=True),
        _right(COL_COUNT, y, 3.8, str(view.content.donations), bold=True),
        _right(COL_HOURS, y, 3.8, str(view.content.hours), bold=True),
    ]
    return items, y


# Donations counted: columns.
L_DATE, L_KIND, L_AMOUNT, L_PLACE, L_TABLE, L_HOURS = LEFT, 42.0, 68.0, 92.0, 150.0, RIGHT


def _lines_heading(y: float) -> Iterator[Item]:
    yield Text(LEFT, y, 4.4, "计入的献血", color=RED, bold=True)
    yield Text(LEFT + _face().width("计入的献血", 4.4) + 3, y, 2.6, "Donations counted", MUTED)
    y += 7.0
    for x, text in (
        (L_DATE, "日期 Date"),
        (L_KIND, "种类 Kind"),
        (L_AMOUNT, "数量 Amount"),
        (L_PLACE, "采血机构与地点 Station and site"),
        (L_TABLE, "折算标准 Table"),
    ):
        yield Text(x, y, 2.6, text, color=MUTED)
    yield _right(L_HOURS, y, 2.6, "小时 Hours", color=MUTED)
    yield Line(LEFT, y + 1.8, RIGHT, y + 1.8, 0.2, RULE)


def _line(line: StatementLine, y: float) -> Iterator[Item]:
    size = 3.1
    yield Text(L_DATE, y, size, line.donated_on.isoformat())
    yield Text(L_KIND, y, size, _clip(kind_label(line.kind), L_AMOUNT - L_KIND - 2, size))
    amount = amount_text(line.kind, line.volume_ml, line.units)
    yield Text(L_AMOUNT, y, size, _clip(amount, L_PLACE - L_AMOUNT - 2, size))
    yield Text(L_PLACE, y, size, _clip(line.place, L_TABLE - L_PLACE - 2, size))
    yield Text(L_TABLE, y, size, _clip(line.table, L_HOURS - L_TABLE - 8, size))
    yield _right(L_HOURS, y, size, str(line.hours))


def _note(y: float) -> Iterator[Item]:
    notes = (
        "每次献血按献血地点所在地区的折算标准计为志愿服务时长；该地区未定标准的，按全国默认标准。",
        "本证明为出具之日的记录，扫码可核验真伪；有效期后请重新出具。",
        "Each donation is converted by the table of the region where it was made, "
        "else by the national default.",
        "A snapshot on its date of issue: scan the code to check it; after its validity, ask for a new one.",
    )
    for i, text in enumerate(notes):
        yield Text(LEFT, y + i * 4.4, 2.5, text, color=MUTED)


def render_statement_pdf(view: StatementView) -> bytes:
    """The statement as a PDF: page one with the QR code, then the donations counted."""
    return render_pdf_pages(
        layout_statement(view),
        size=(A4_W, A4_H),
        title=f"无偿献血志愿服务时长证明 {view.content.serial}",
        subject="Statement of volunteer service hours (voluntary blood donation)",
        created=view.issued_at,
    )
