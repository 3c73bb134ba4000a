"""The building blocks of the project's offline HTML pages: document, tables, figures.

:func:`page` is a whole document with plotly's JavaScript inlined once (no CDN: the page works
offline), :func:`html_table` a table of escaped text cells, :func:`figure_div` a plotly
figure as a division with a fixed id (the same figure gives the same bytes). The evaluation
page (:mod:`agents.report_html`) and the suite's page (:mod:`agents.suite.report`) are built
from them.

>>> html_table(["agent", "cost"], [["ect", "1.0"]])[:38]
'<table><thead><tr><th>agent</th><th>co'
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["figure_div", "html_table", "note", "page", "section"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
caption { caption-side: bottom; text-align: left; color: #555; padding-top: 0.4em; }
tr.bound td { color: #555; font-style: italic; }
.note { color: #555; }
"""


def page(title: str, sections: Sequence[str], *, plotly_js: bool = True) -> str:
    """A whole HTML document: ``sections`` in order, plotly's JavaScript inlined in the head."""
    script = ""
    if plotly_js:
        from plotly.offline import get_plotlyjs

        script = f'<script type="text/javascript">{get_plotlyjs()}</script>'
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n{script}\n</head>\n"
        f"<body>\n<h1>{html.escape(title)}</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )


def html_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    caption: str = "",
    classes: Sequence[str] = (),
) -> str:
    """An HTML table of text cells (escaped); ``classes`` gives a CSS class per row."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure_div(fig: Any, name: str) -> str:
    """A plotly figure as a ``<div id="fig-NAME">`` (the page inlines plotly.js once)."""
    return fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"fig-{name}",
        config={"displaylogo": False, "responsive": True},
    )  # fmt: skip


def section(anchor: str, heading: str, *parts: str) -> str:
    """A ``<section id="ANCHOR">`` with its heading and ``parts`` (HTML) in order."""
    head = f'<section id="{anchor}">\n<h2>{html.escape(heading)}</h2>\n'
    return head + "\n".join(parts) + "\n</section>"


def note(text: str) -> str:
    """A paragraph of explanatory text (escaped), in the page's muted style."""
    return f'<p class="note">{html.escape(text)}</p>'
