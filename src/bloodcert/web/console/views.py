"""What the data-quality charts show, computed from the service's monthly figures, in the SVG's own units."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bloodcert.services.console import MonthStat
from bloodcert.web.console.i18n import ConsoleWords


@dataclass(frozen=True, slots=True)
class Frame:
    """A chart's viewBox and the baseline its bars stand on (wider than the donor's: twelve months)."""

    width: float = 480.0
    height: float = 160.0
    top: float = 18.0
    base: float = 136.0


FRAME = Frame()


@dataclass(frozen=True, slots=True)
class Bar:
    """One month's bar; `height` 0 and `value` empty for a month without data."""

    label: str
    value: str
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self) -> float:
        """The x of the bar's centre, where its labels go."""
        return round(self.x + self.width / 2, 2)


@dataclass(frozen=True, slots=True)
class Chart:
    """A bar chart and its data in words, for screen readers."""

    bars: list[Bar]
    text: str
    frame: Frame = FRAME

    @property
    def empty(self) -> bool:
        """No month has data."""
        return all(b.height == 0 and not b.value for b in self.bars)


def month_label(stat: MonthStat, t: ConsoleWords) -> str:
    """`11月` or `Nov`; January carries its year (`26年1月`, `Jan 26`), so that the turn of a year shows."""
    month, year = stat.month.month, stat.month.year % 100
    if t.lang == "zh":
        return f"{year:02d}年1月" if month == 1 else f"{month}月"
    name = stat.month.strftime("%b")
    return f"{name} {year:02d}" if month == 1 else name


def bar_chart(
    months: Sequence[MonthStat],
    value: Callable[[MonthStat], float | None],
    fmt: Callable[[float | None], str],
    t: ConsoleWords,
) -> Chart:
    """One bar per month, scaled to the largest value; months without data get no bar."""
    values = [value(m) for m in months]
    peak = max((v for v in values if v is not None), default=0.0) or 1.0
    slot = FRAME.width / max(1, len(months))
    width = min(slot * 0.62, 28.0)
    bars = []
    for i, (stat, v) in enumerate(zip(months, values, strict=True)):
        height = (FRAME.base - FRAME.top) * (v or 0.0) / peak
        x = i * slot + (slot - width) / 2
        bars.append(
            Bar(
                month_label(stat, t),
                fmt(v) if v is not None else "",
                round(x, 2),
                round(FRAME.base - height, 2),
                round(width, 2),
                round(height, 2),
            )
        )
    sep = ", " if t.lang == "en" else "，"
    text = sep.join(f"{b.label} {b.value or t('no_data')}" for b in bars)
    return Chart(bars, text)


def rejection_chart(months: Sequence[MonthStat], t: ConsoleWords) -> Chart:
    """Rejected records over all records received, per month."""
    return bar_chart(months, lambda m: m.rejection_rate, lambda v: f"{(v or 0) * 100:.0f}%", t)


def delay_chart(months: Sequence[MonthStat], t: ConsoleWords) -> Chart:
    """The median reporting delay in days, per month."""
    return bar_chart(months, lambda m: m.median_delay_days, lambda v: _short_days(v or 0.0), t)


def _short_days(days: float) -> str:
    return f"{days:.0f}" if days >= 10 else f"{days:.1f}"
