import datetime as dt
from decimal import Decimal

from django.template import Context, Template
from django.utils import translation

from programs.templatetags.formats import percent, percent_width, progress_percent, signed_points
from reports.charts import Series, trend_chart


def test_a_course_s_progress_is_written_to_the_whole_percent():
    assert [progress_percent(value) for value in (None, 0, Decimal("79.5"), Decimal("80.49"), 100)] == [
        "\N{EN DASH}",
        "0%",
        "80%",
        "80%",
        "100%",
    ]
    with translation.override("de"):
        assert progress_percent(Decimal("60")) == "60\N{NO-BREAK SPACE}%"


def test_percent_shows_a_dash_for_no_rate():
    assert percent(None) == "\N{EN DASH}"
    assert percent(0.0) == "0%"
    assert percent(0.8567) == "86%"
    assert percent(0.8567, 1) == "85.7%"
    assert percent_width(1.7) == "100.00%"
    assert percent_width(None) == "0%"
    assert signed_points(0.031) == "+3.1 pts"
    assert signed_points(-0.5) == "-50.0 pts"


def test_trend_chart_places_points_and_escapes_labels():
    start, end = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    svg = trend_chart(
        title="<b>Acme</b> trend",
        series=[Series("Actual <rate>", [(start, 0.0), (end, 1.0)]), Series("Pace", [], css_class="pace")],
        start=start,
        end=end,
        target=0.9,
    )
    assert "&lt;b&gt;Acme&lt;/b&gt; trend" in svg
    assert "Actual &lt;rate&gt;" in svg
    assert "<b>" not in svg
    # 0% at the start sits on the x axis (y = 14 + 216), 100% at the end at the top right.
    assert 'points="44.0,230.0 628.0,14.0"' in svg
    assert "target 90%" in svg
    assert svg.count("<polyline") == 1  # the empty pace series draws no line


def test_progress_bar_include_marks_target_and_met():
    html = Template('{% include "includes/progress_bar.html" with rate=rate target=0.9 %}').render(
        Context({"rate": 0.95})
    )
    assert '<rect class="fill met" width="95.00%" height="100%"/>' in html
    assert 'x1="90.00%" x2="90.00%"' in html
    assert "style=" not in html
    empty = Template('{% include "includes/progress_bar.html" with rate=None target=0.9 %}').render(Context({}))
    assert "fill" not in empty
    assert "Progress: \N{EN DASH} of a 90% target" in empty
