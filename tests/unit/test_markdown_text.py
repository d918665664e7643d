"""Markdown building blocks."""
from dashboard.markdown_text import monospace_lines


def test_monospace_lines_puts_each_line_in_inline_code_on_its_own_line():
    assert monospace_lines(["X train (784, 10)", "Y train (10,)"]) == "`X train (784, 10)`  \n`Y train (10,)`"


def test_monospace_lines_drops_backticks_that_would_end_the_code_early():
    assert monospace_lines(["a`b"]) == "`ab`"


def test_markdown_table_keeps_column_order_and_escapes_pipes():
    from dashboard.markdown_text import markdown_table

    table = markdown_table([{"layer": "hidden 1", "dead": 3, "note": "a|b"}, {"layer": "hidden 2", "dead": 0, "note": ""}])
    assert table.splitlines() == ["| layer | dead | note |", "|---|---|---|", "| hidden 1 | 3 | a\\|b |",
                                  "| hidden 2 | 0 |  |"]
    assert markdown_table([]) == ""
