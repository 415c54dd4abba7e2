"""One self-contained HTML page for ``restore --score --html``: each text with its flagged spans shaded by score.

No scripts and nothing fetched: the styles are inline, and hovering a span shows its score and the restorer's
suggestion through the ``title`` attribute, so the page reads the same offline and in any browser.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from restore.detect import DetectSettings, Report
from restore.segment import TERM_WORDS

_STYLE = """
body { font: 16px/1.6 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; padding: 0 1rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2.5rem; }
table.summary { border-collapse: collapse; margin: 1rem 0; }
table.summary td, table.summary th { border: 1px solid #ccc; padding: .3rem .7rem; text-align: left; }
.verdict-spun { color: #b00020; font-weight: 600; } .verdict-clean { color: #1b5e20; font-weight: 600; }
.text { white-space: pre-wrap; border: 1px solid #ddd; border-radius: 6px; padding: 1rem; background: #fcfcfc; }
mark.flag { border-radius: 3px; padding: 0 1px; color: inherit; border-bottom: 2px solid #b00020; cursor: help; }
.legend mark { padding: 0 .4rem; }
"""


def _shade(score: float, threshold: float) -> str:
    """Red, from faint at the threshold to strong at 1."""
    strength = (score - threshold) / max(1 - threshold, 1e-6)
    alpha = 0.15 + 0.55 * min(max(strength, 0.0), 1.0)
    return f"background: rgba(229, 57, 53, {alpha:.2f})"


def _marked(text: str, report: Report) -> str:
    """``text`` escaped, with each flagged span in a ``<mark>`` whose title gives its score and suggestion."""
    out, cursor = [], 0
    for span in report.spans:
        tip = f"spin score {span.score:.2f}; " + (
            f"suggestion: {span.suggestion}" if span.suggestion is not None else "no suggestion"
        )
        suggestion = "" if span.suggestion is None else f' data-suggestion="{html.escape(span.suggestion)}"'
        out += [
            html.escape(text[cursor : span.start]),
            f'<mark class="flag" style="{_shade(span.score, report.threshold)}" title="{html.escape(tip)}"'
            f' data-score="{span.score:.3f}"{suggestion}>{html.escape(span.text)}</mark>',
        ]
        cursor = span.end
    return "".join(out) + html.escape(text[cursor:])


def render(items: Sequence[tuple[str, str, Report]], settings: DetectSettings) -> str:
    """The page for (name, text, report) of each input; ``settings``: the detection's, for the legend."""
    rows, sections = [], []
    for k, (name, text, report) in enumerate(items):
        verdict = "likely spun" if report.score >= 0.5 else "likely not spun"
        css = "verdict-spun" if report.score >= 0.5 else "verdict-clean"
        flagged = sum(s.flagged for s in report.sentences)
        rows.append(
            f'<tr><td><a href="#text-{k}">{html.escape(name)}</a></td><td class="score">{report.score:.2f}</td>'
            f'<td class="{css}">{verdict}</td><td>{len(report.spans)}</td>'
            f"<td>{flagged} of {len(report.sentences)}</td></tr>"
        )
        worst = max(report.sentences, key=lambda s: s.score, default=None)
        worst_line = (
            f"<p>Worst sentence ({worst.score:.2f}): <q>{html.escape(text[worst.start : worst.end])}</q></p>"
            if worst is not None
            else ""
        )
        sections.append(
            f'<section id="text-{k}"><h2>{html.escape(name)}</h2>'
            f'<p>Spin score <b class="{css}">{report.score:.2f}</b> ({verdict}); {len(report.spans)} flagged spans in '
            f"{flagged} of {len(report.sentences)} sentences.</p>{worst_line}"
            f'<div class="text">{_marked(text, report)}</div></section>'
        )
    threshold = settings.threshold
    legend = (
        f'<p class="legend">Flagged words (spin score at least {threshold:.2f}, or {settings.term_threshold:.2f} in'
        f" a text of at most {TERM_WORDS} words alone) are shaded from "
        f'<mark style="{_shade(threshold, threshold)}">just flagged</mark> to '
        f'<mark style="{_shade(1.0, threshold)}">surely spun</mark>; hover one for its score and the original '
        "wording the restorer suggests.</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>restore: spin report</title><style>{_STYLE}</style></head><body>"
        f"<h1>Spin report</h1>{legend}"
        '<table class="summary"><tr><th>text</th><th>score</th><th>verdict</th><th>flagged spans</th>'
        f"<th>flagged sentences</th></tr>{''.join(rows)}</table>"
        f"{''.join(sections)}</body></html>\n"
    )
