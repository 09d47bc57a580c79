"""workbook.xlsx opens with openpyxl; numbers are numbers with formats; totals are the sums of
their rows; fiscal-year figures match the monthly table; reserves move by the surplus."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from sim.outputs.workbook import HEADER_ROW


@pytest.fixture(scope="module")
def book(compare_folder: Path):
    """The comparison's workbook, opened by openpyxl."""
    return load_workbook(compare_folder / "workbook.xlsx")


def _rows(sheet) -> dict[str, list]:
    """Lines of a scenario sheet by label: the cells from the first fiscal year to 'All years'."""
    rows = {}
    for row in sheet.iter_rows(min_row=HEADER_ROW + 1):
        if row[0].value is not None and row[1].value is not None:  # not a section heading
            assert row[0].value not in rows, f"two lines labelled {row[0].value!r}"
            rows[row[0].value] = row[2:]
    return rows


def _section(sheet, name: str, total: str) -> list[str]:
    """Labels of the lines between a section heading and its total line."""
    labels = [r[0].value for r in sheet.iter_rows(min_row=HEADER_ROW + 1)]
    start, end = labels.index(name), labels.index(total)
    return labels[start + 1:end]


def _years(sheet) -> list[str]:
    header = [c.value for c in sheet[HEADER_ROW]]
    return header[2:-1]


def test_sheets_are_summary_then_each_scenario(book, compare_folder: Path) -> None:
    """One summary sheet, then one sheet per scenario in command-line order."""
    summary = json.loads((compare_folder / "summary.json").read_text())
    assert book.sheetnames == ["Summary", *summary]


def test_totals_equal_the_sums_of_their_rows(book, compare_folder: Path) -> None:
    """Total income and total costs equal the sums of their lines in every year and over all
    years; 'All years' equals the sum of the years; surplus is income minus costs."""
    for name in book.sheetnames[1:]:
        sheet = book[name]
        rows = _rows(sheet)
        n = len(_years(sheet))
        for section, total in (("Income", "Total income"), ("Costs", "Total costs")):
            parts = _section(sheet, section, total)
            assert len(parts) >= 2
            for col in range(n + 1):
                expected = sum(rows[p][col].value for p in parts)
                assert rows[total][col].value == pytest.approx(expected, rel=1e-12, abs=1e-6)
            for label in (*parts, total):
                cells = rows[label]
                assert cells[n].value == pytest.approx(sum(c.value for c in cells[:n]), abs=1e-6)
        for col in range(n + 1):
            assert rows["Surplus (deficit)"][col].value == pytest.approx(
                rows["Total income"][col].value - rows["Total costs"][col].value, abs=1e-6)


def test_numbers_are_numbers_with_formats(book) -> None:
    """Money cells hold numbers formatted in £; staff in FTE; shares as percentages."""
    for name in book.sheetnames[1:]:
        rows = _rows(book[name])
        for label, fmt in (("Total income", "£"), ("Reserves at end of year (mean)", "£"),
                           ("Total staff (FTE)", "0.0"),
                           ("Share of runs still operating at year end", "%")):
            for cell in rows[label][:-1]:
                if cell.value is not None:
                    assert isinstance(cell.value, int | float), (label, cell.value)
                    assert fmt in cell.number_format, (label, cell.number_format)


def test_fiscal_years_match_the_monthly_table(book, compare_folder: Path) -> None:
    """Each year's total income and costs equal the monthly means in timeseries.csv summed over
    that fiscal year; year-end reserves equal the mean reserves in March."""
    ts = pd.read_csv(compare_folder / "timeseries.csv")
    for name in book.sheetnames[1:]:
        sheet = book[name]
        rows = _rows(sheet)
        frame = ts[ts["scenario"] == name]
        for i, year in enumerate(_years(sheet)):
            months = frame[frame["fiscal_year"] == year]
            for label, metric in (("Total income", "income_total_gbp"),
                                  ("Total costs", "costs_total_gbp")):
                expected = months.loc[months["metric"] == metric, "mean"].sum()
                assert rows[label][i].value == pytest.approx(expected, rel=1e-9, abs=1e-3)
            march = months[(months["metric"] == "reserves_gbp")].sort_values("month").iloc[-1]
            assert rows["Reserves at end of year (mean)"][i].value == pytest.approx(march["mean"])
            staff = months[(months["metric"] == "staff_fte")].sort_values("month").iloc[-1]
            assert rows["Total staff (FTE)"][i].value == pytest.approx(staff["mean"], abs=1e-9)


def test_reserves_move_by_the_surplus(book) -> None:
    """Money is conserved: mean reserves at year end = start of year + that year's surplus."""
    for name in book.sheetnames[1:]:
        sheet = book[name]
        rows = _rows(sheet)
        for i in range(len(_years(sheet))):
            start = rows["Reserves at start of year (mean)"][i].value
            end = rows["Reserves at end of year (mean)"][i].value
            surplus = rows["Surplus (deficit)"][i].value
            assert end == pytest.approx(start + surplus, rel=1e-9, abs=1e-3)


def test_summary_sheet_repeats_the_scenario_totals(book) -> None:
    """The summary's totals over the run equal the 'All years' totals of each scenario sheet."""
    summary = book["Summary"]
    header = [c.value for c in summary[HEADER_ROW]]
    by_label = {r[0].value: r for r in summary.iter_rows(min_row=HEADER_ROW + 1)
                if r[0].value is not None}
    for name in book.sheetnames[1:]:
        col = header.index(name)
        rows = _rows(book[name])
        n = len(_years(book[name]))
        assert by_label["Total income over the run"][col].value == pytest.approx(
            rows["Total income"][n].value)
        assert by_label["Total costs over the run"][col].value == pytest.approx(
            rows["Total costs"][n].value)
