"""Python source as highlighted HTML (for ``st.html``), coloured on the server.

``st.code`` makes the browser fetch and run Streamlit's 1.5 MB syntax highlighter the first time
a page shows code: about 0.4 s of the Inside page's first visit, for a handful of short functions.
Pygments colours the same source on the server in about a millisecond, and the browser only
lays out coloured text.
"""
from __future__ import annotations

import functools
import html
import re

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

# Streamlit's own code blocks: light grey box, rounded, its monospace font; long lines scroll.
BLOCK_STYLE = ("background:#f6f8fa;border-radius:0.5rem;padding:0.75rem 1rem;margin:0 0 1rem 0;overflow-x:auto;"
               "font-family:'Source Code Pro',monospace;font-size:0.85rem;line-height:1.5;white-space:pre;color:#31333f")
# The class the block carries: what tests and the browser find the code by.
CODE_CLASS = "lab-code"


@functools.lru_cache(maxsize=256)
def python_html(source: str) -> str:
    """``source`` as a ``<pre>`` block with its tokens coloured by inline styles."""
    coloured = highlight(source, PythonLexer(), HtmlFormatter(noclasses=True, nowrap=True, style="friendly"))
    return f'<pre class="{CODE_CLASS}" style="{BLOCK_STYLE}"><code>{coloured.rstrip()}</code></pre>'


def text_of(block: str) -> str:
    """The source shown by a block made by :func:`python_html` (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", block))
