"""Source coloured on the server: the exact text survives, tokens are coloured, markup is escaped."""
import inspect

from dashboard.code_html import CODE_CLASS, python_html, text_of
from nnlib.layers import Dense


def test_the_source_comes_back_exactly_and_is_coloured():
    source = inspect.getsource(Dense.forward)
    block = python_html(source)
    assert block.startswith(f'<pre class="{CODE_CLASS}"') and "<script" not in block
    assert text_of(block) == source.rstrip()
    assert '<span style="color: #007020; font-weight: bold">def</span>' in block   # a keyword, coloured


def test_markup_in_the_source_is_text():
    block = python_html('x = "<b>&amp;</b>"  # <i>\n')
    assert "<b>" not in block and "<i>" not in block
    assert text_of(block) == 'x = "<b>&amp;</b>"  # <i>'
