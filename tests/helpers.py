"""Reading rendered pages in tests: table rows, links, and the text of one element."""

from __future__ import annotations

from typing import Any

from bs4 import BeautifulSoup


def soup(response: Any) -> BeautifulSoup:
    """Parse a response body as HTML."""
    return BeautifulSoup(response.get_data(as_text=True), "lxml")


def table_rows(response: Any) -> list[dict[str, str]]:
    """The task table's rows as {column header: cell text}."""
    page = soup(response)
    table = page.select_one("table.task-table")
    if table is None:
        return []
    headers = [th.get_text(" ", strip=True).rstrip(" ↑↓") for th in table.select("thead th")]
    rows = []
    for tr in table.select("tbody tr"):
        cells = [td.get_text(" ", strip=True) for td in tr.find_all("td", recursive=False)]
        row = dict(zip(headers, cells, strict=True))
        row["_class"] = " ".join(tr.get("class", []))
        rows.append(row)
    return rows


def number(text: str) -> int:
    """'1,234' → 1234 (the first number in a cell)."""
    head = text.split()[0].replace(",", "").lstrip("+")
    return int(head)
