"""Markdown building blocks for text the pages show as code without being code."""
from __future__ import annotations

from collections.abc import Iterable


def monospace_lines(lines: Iterable[str]) -> str:
    """Markdown showing each of ``lines`` on its own line in a monospace font.

    Inline code, not ``st.code``: a code block makes the browser fetch and parse Streamlit's
    1.5 MB syntax highlighter on the page's first visit, about a second on a slow machine,
    for a few lines of array shapes that need no highlighting."""
    return "  \n".join(f"`{line.replace('`', '')}`" for line in lines)
