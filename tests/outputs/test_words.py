"""One table of KPI words: every KPI has a plain name, a short name, and the fiscal-year columns
of a sweep are named with the same fiscal-year labels as the monthly table."""

from __future__ import annotations

import pytest

from sim.experiments.runner import fiscal_year_columns
from sim.model import KPIS
from sim.outputs.kpi_text import KPI_TEXT, column_words, kpi_text, short_name
from sim.outputs.tables import calendar_columns, fiscal_year_label, fiscal_year_of_key


def test_every_model_kpi_has_words_a_short_name_and_a_kind() -> None:
    """Each KPI the model reports is in KPI_TEXT with a board phrase and a short name; chances
    are worded as what happens in a run ('survives to year 10')."""
    assert set(KPIS) <= set(KPI_TEXT)
    for name in KPIS:
        text = kpi_text(name)
        assert text.words and text.short and "{end}" not in text.words
        assert text.kind in {"chance", "month", "gbp", "share", "months", "ratio", "count"}
    assert KPI_TEXT["survival_prob_y10"].event == "survives to year 10"
    assert KPI_TEXT["survival_prob_y5"].short == "survival to year 5"


def test_short_names_of_kpis_metrics_and_unknown_names() -> None:
    """KPIs and the sweeps' metrics have their own short names; other names become words."""
    assert short_name("min_reserves_gbp") == "lowest reserves"
    assert short_name("reserves_gbp") == "reserves"
    assert short_name("members") == short_name("las_member") == "member LAs"
    assert short_name("new_thing_gbp") == "new thing (£)"
    assert kpi_text("new_thing_gbp").kind == "gbp" and kpi_text("new_thing_gbp").better is None


@pytest.mark.parametrize("start", ["2026-04", "2025-09", "2027-01"])
def test_fiscal_year_keys_read_as_the_monthly_tables_labels(start: str) -> None:
    """A sweep's fyYYYY_YY column holds the value at the end of March; read in words it names
    the same fiscal year the monthly table gives that March."""
    calendar = calendar_columns(start, 60)
    for key, month in fiscal_year_columns(start, 60):
        assert calendar.at[month, "date"].endswith("-03")
        label = calendar.at[month, "fiscal_year"]
        assert fiscal_year_of_key(key) == label
        assert column_words(f"members_{key}") == f"member LAs at the end of {label}"
    assert fiscal_year_of_key("fy2028_29") == fiscal_year_label(2029, 3) == "2028/29"
    assert fiscal_year_of_key("something else") == "something else"
    assert column_words("survival_prob_y10") == "survival to year 10"
