"""Charts: SVG labels stay text; PNG labels are Chinese whenever a Chinese font is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from hub.pages.supervise.routes import _trend_svg
from hub.supervision import charts, report, stats

SVG = "{http://www.w3.org/2000/svg}"
GROUPS = [
    stats.Group(key="SCJG", name="市场监督管理局", figures=stats.Figures(on_time=3, late=1)),
    # Nothing closed: no on-time rate, drawn "—" as in the table.
    stats.Group(key="ZJJ", name="住房和城乡建设局", figures=stats.Figures(open_overdue=2)),
]
TREND = [
    stats.Group(key="2026-09", name=None, figures=stats.Figures(accepted=5, on_time=2)),
    stats.Group(key="2026-10", name=None, figures=stats.Figures(accepted=7, late=1)),
]


def _fontconfig_has_chinese() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    argv = [fc_list, ":lang=zh", "file"]
    out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout  # noqa: S603
    return bool(out.strip())


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # noqa: S314 -- our own chart, not outside input
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def _all_svgs() -> dict[str, str]:
    _, svgs = report._draw("2026-10", GROUPS)
    return svgs | {"trend": _trend_svg(TREND)}


def test_every_label_of_every_page_chart_is_svg_text() -> None:
    """Titles, department names, legends and bar values are <text>, not glyph outlines."""
    svgs = _all_svgs()
    expected = {
        "on_time_rate": [
            "2026-10 各部门按时办结率",
            "市场监督管理局",
            "住房和城乡建设局",
            "按时办结率",
            "75%",
            "—",
        ],
        "overdue": ["2026-10 各部门超期件数", "市场监督管理局", "超期办结", "在办超期"],
        "trend": ["月度趋势", "2026-09", "2026-10", "受理", "办结", "超期办结", "在办超期"],
    }
    for name, labels in expected.items():
        svg = svgs[name]
        texts = _texts(svg)
        for label in labels:
            assert label in texts, (name, label, texts)
        # Glyphs drawn as paths would come with <use xlink:href="#DejaVuSans-..."> references.
        assert not re.search(r'href="#[A-Za-z]+-[0-9a-f]+"', svg), name
        assert "?" not in "".join(texts), name


def test_a_department_with_nothing_closed_has_no_on_time_bar_value() -> None:
    """The chart follows the table: "—" for no closings, never "0%"."""
    texts = _texts(_all_svgs()["on_time_rate"])
    assert "0%" not in texts
    assert texts.count("—") == 1


def _drawn_texts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The texts of every PNG figure drawn from now on (SVGs always carry the Chinese)."""
    drawn: list[str] = []
    figure = charts._figure
    png = charts.bar_chart_png

    def spy(*args: Any, **kwargs: Any) -> Any:
        made = figure(*args, **kwargs)
        if drawing_png:
            drawn.extend(t.get_text() for t in made.findobj(lambda a: hasattr(a, "get_text")))
        return made

    drawing_png = False

    def png_spy(*args: Any, **kwargs: Any) -> bytes:
        nonlocal drawing_png
        drawing_png = True
        try:
            return png(*args, **kwargs)
        finally:
            drawing_png = False

    monkeypatch.setattr(charts, "bar_chart_png", png_spy)

    monkeypatch.setattr(charts, "_figure", spy)
    yield drawn


@pytest.mark.skipif(not _fontconfig_has_chinese(), reason="no Chinese font (fc-list :lang=zh)")
def test_png_charts_draw_chinese_labels_when_a_chinese_font_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With fonts-wqy-microhei (or any CJK font) the PNG has the Chinese labels, no "?"."""
    drawn = next(_drawn_texts(monkeypatch))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of every glyph a font lacks
        pngs, _ = report._draw("2026-10", GROUPS)
    assert charts.cjk_font() is not None
    assert set(pngs) == {"on_time_rate", "overdue"}
    assert "市场监督管理局" in drawn and "2026-10 各部门超期件数" in drawn
    assert not any("?" in text for text in drawn)


def test_without_a_chinese_font_png_labels_are_ascii_and_it_is_logged_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No CJK font: department codes and English titles, one warning, never "?"."""
    drawn = next(_drawn_texts(monkeypatch))
    monkeypatch.setattr(charts, "_covers_chinese", lambda path: False)
    charts.cjk_font.cache_clear()
    try:
        with capture_logs() as logs:
            pngs, _ = report._draw("2026-10", GROUPS)
            report._draw("2026-10", GROUPS)
    finally:
        charts.cjk_font.cache_clear()
    assert pngs["overdue"][:8] == b"\x89PNG\r\n\x1a\n"
    assert [e["event"] for e in logs].count("chart_cjk_font_missing") == 1
    assert "SCJG" in drawn and "2026-10 overdue cases by department" in drawn
    assert all(text.isascii() and "?" not in text for text in drawn), drawn
