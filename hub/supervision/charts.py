"""Bar charts for the supervision pages (SVG, text left as text) and files (PNG).

Pages get SVG whose labels stay ``<text>`` (matplotlib's ``svg.fonttype = "none"``):
the browser draws them in its own fonts, so Chinese reads on any machine that can
show the rest of the page, and the chart stays small and crisp. Images that must
be raster (the report's PNG files) need a font with Chinese glyphs on the hub's
machine: :func:`cjk_font` asks fontconfig (``fc-list :lang=zh``) and matplotlib for
any, and when there is none the chart is drawn from each label's ASCII form,
said once in the log (``chart_cjk_font_missing``) — never as "?" boxes.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import structlog

__all__ = ["Chart", "Label", "Series", "bar_chart_png", "bar_chart_svg", "cjk_font"]

log = structlog.get_logger(__name__)

#: Families a browser may have for the SVG text, tried in order before its own sans-serif.
SVG_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "DejaVu Sans",
    "sans-serif",
)
#: The value of a bar with nothing to measure (a rate of zero cases): drawn empty, marked "—".
NO_VALUE_MARK = ("—", "-")


@dataclass(frozen=True)
class Label:
    """A chart text in Chinese with the ASCII form drawn when no Chinese font exists."""

    text: str
    ascii: str

    def pick(self, *, chinese: bool) -> str:
        return self.text if chinese else self.ascii


@dataclass(frozen=True, kw_only=True)
class Series:
    """One bar per label; ``None`` where there is nothing to show (drawn as "—")."""

    name: Label
    values: Sequence[float | None]


def _fontconfig_files() -> list[str]:
    """Font files fontconfig says cover Chinese (empty without fontconfig)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run(  # noqa: S603 -- a fixed argv, no shell, no outside input
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    files = [line.split(":", 1)[0].strip() for line in out.splitlines() if line.strip()]
    return sorted(f for f in files if f.lower().endswith((".ttf", ".ttc", ".otf")))


def _covers_chinese(path: str) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        return all(ord(ch) in FT2Font(path).get_charmap() for ch in "按时办结率")
    except (OSError, RuntimeError, ValueError):
        return False


@cache
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, registered with matplotlib.

    fontconfig knows fonts installed after matplotlib built its cache; matplotlib's
    own list covers machines without fontconfig. ``None`` (logged once) when neither
    has one.
    """
    from matplotlib import font_manager

    candidates = _fontconfig_files()
    candidates += [f.fname for f in font_manager.fontManager.ttflist if f.fname not in candidates]
    for path in candidates:
        if not _covers_chinese(path):
            continue
        try:
            font_manager.fontManager.addfont(path)
            name: str = font_manager.FontProperties(fname=path).get_name()
        except (OSError, RuntimeError, ValueError):
            continue
        return name
    log.warning(
        "chart_cjk_font_missing",
        detail="no font with Chinese glyphs (fc-list :lang=zh is empty): PNG charts use ASCII"
        " labels; install e.g. fonts-wqy-microhei or fonts-noto-cjk",
    )
    return None


@dataclass(frozen=True, kw_only=True)
class Chart:
    """A grouped bar chart: one group of bars per label, one bar per series; inches."""

    labels: Sequence[Label]
    series: Sequence[Series]
    title: Label
    percent: bool = False
    width: float = 8.0
    height: float = 3.6


def bar_chart_svg(chart: Chart) -> str:
    """``chart`` as SVG text whose every label is a ``<text>`` element."""
    import matplotlib

    style: dict[Any, Any] = {
        "svg.fonttype": "none",
        "svg.hashsalt": "cuiban",  # the same chart gives the same bytes
        "font.family": ["sans-serif"],
        "font.sans-serif": [f for f in [cjk_font(), *SVG_FAMILIES] if f],
    }
    with matplotlib.rc_context(style):
        figure = _figure(chart, chinese=True)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def bar_chart_png(chart: Chart) -> bytes:
    """``chart`` as PNG bytes (100 dpi: ``width`` × ``height`` inches)."""
    import matplotlib

    font = cjk_font()
    style: dict[Any, Any] = {"font.family": [font, "DejaVu Sans"]} if font else {}
    with matplotlib.rc_context(style):
        figure = _figure(chart, chinese=font is not None)
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()


def _figure(chart: Chart, *, chinese: bool) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    labels, series, title, percent = chart.labels, chart.series, chart.title, chart.percent
    figure = Figure(figsize=(chart.width, chart.height), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    count = max(len(series), 1)
    bar = 0.8 / count
    positions = range(len(labels))
    no_value = NO_VALUE_MARK[0] if chinese else NO_VALUE_MARK[1]
    for index, one in enumerate(series):
        scale = 100.0 if percent else 1.0
        shown = [0.0 if v is None else scale * v for v in one.values]
        bars = axes.bar(
            [x + (index - (count - 1) / 2) * bar for x in positions],
            shown,
            bar,
            label=one.name.pick(chinese=chinese),
        )
        texts = [
            no_value if v is None else (f"{scale * v:.0f}%" if percent else f"{v:.0f}")
            for v in one.values
        ]
        axes.bar_label(bars, labels=texts, fontsize=8)
    axes.set_xticks(list(positions), [label.pick(chinese=chinese) for label in labels], fontsize=9)
    axes.set_title(title.pick(chinese=chinese))
    if percent:
        axes.set_ylim(0, 110)
    else:
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(fontsize=8, loc="upper right")
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure
