"""Markdown building blocks for text the pages show as code without being code."""
from __future__ import annotations

from collections.abc import Iterable


def monospace_lines(lines: Iterable[str]) -> str:
    """Markdown showing each of ``lines`` on its own line in a monospace font.

    Inline code, not ``st.code``: a code block makes the browser fetch and parse Streamlit's
    1.5 MB syntax highlighter on the page's first visit, about a second on a slow machine,
    for a few lines of array shapes that need no highlighting."""
    return "  \n".join(f"`{line.replace('`', '')}`" for line in lines)


def markdown_table(rows: list[dict[str, object]]) -> str:
    """``rows`` (dicts with the same keys, in column order) as a Markdown table.

    For a few rows of text: Streamlit's interactive table (``st.dataframe``) makes the browser
    fetch and run about 1.2 MB of grid and Arrow code the first time a page shows one."""
    if not rows:
        return ""
    columns = list(rows[0])

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
