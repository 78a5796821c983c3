"""The cohort report as a text table (for the terminal) and as an HTML page with inline SVG bar charts."""

from __future__ import annotations

import html
from collections.abc import Mapping

from activities.reports.tables import Table
from domain.cohort import CohortReport


def summary_rows(report: CohortReport) -> list[tuple[str, str]]:
    """The report's summary, measure and value, as the terminal shows it (the CSV ``summary`` table too)."""
    return _rows(report)


def _rows(report: CohortReport) -> list[tuple[str, str]]:
    h = report.hours
    rows = [
        ("partnerships", str(report.partnerships)),
        ("pairs that started (signed)", str(report.started_pairs)),
    ]
    rows += [(f"  stage {stage}", str(n)) for stage, n in report.by_stage.items()]
    rows += [
        ("meetings per pair (mean / median)", f"{report.meetings_mean:.1f} / {report.meetings_median:.1f}"),
        (
            f"hours vs the {h.target_min:.0f}-{h.target_max:.0f} h target",
            f"mean {h.mean_total:.1f} h; below {h.below_target}, within {h.within_target}, above {h.above_target}",
        ),
        ("lapses escalated (pairs with a lapse)", f"{report.lapses} ({report.pairs_with_lapses})"),
        ("coordinator interventions", str(report.interventions)),
        ("rematches", str(report.rematches)),
        ("still needing a coordinator", ", ".join(f"{k} {v}" for k, v in report.open_attention.items()) or "none"),
        ("attention raised (all, cleared or not)", _counts(report.attention_raised)),
        ("diary entries per pair (mean)", f"{report.diary_entries_mean:.1f}"),
        ("gatherings attended per pair (mean)", f"{report.gatherings_attended_mean:.1f}"),
        ("closing reviews received", str(report.reviews_received)),
        ("rating by mentees (mean, 1-5)", _maybe(report.mentee_rating_mean)),
        ("rating by mentors (mean, 1-5)", _maybe(report.mentor_rating_mean)),
    ]
    rows += [(f"  outcome {outcome}", str(n)) for outcome, n in report.outcomes.items()]
    k = report.checkins
    rows += [
        ("check-in answers asked (rounds)", f"{k.asked} ({k.rounds})"),
        ("check-in answers given (nudged)", f"{k.answered} ({k.nudged})"),
        ("check-ins low (not meeting as planned)", f"{k.low} ({k.not_meeting})"),
        ("check-in scores (1-5)", _counts(k.scores)),
    ]
    return rows


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def history_lines(report: CohortReport) -> list[str]:
    """The attention history, one line per attention: ids, what, when (UTC) and what cleared it (no reasons: they
    are free text, and the report carries no personal data)."""
    lines = []
    for partnership_id, records in report.attention_history.items():
        for r in records:
            cleared = f"cleared {r.cleared_at:%Y-%m-%d %H:%M} UTC by {r.cleared_by}" if r.cleared_at else "still open"
            lines.append(
                f"{partnership_id}: {r.attention}, raised {r.raised_at:%Y-%m-%d %H:%M} UTC by {r.raised_by}; {cleared}"
            )
    return lines


def _maybe(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render_text(report: CohortReport) -> str:
    rows = _rows(report)
    width = max(len(k) for k, _ in rows)
    lines = [f"Cohort {report.cohort_id}", "=" * (8 + len(report.cohort_id))]
    lines += [f"{k.ljust(width)}  {v}" for k, v in rows]
    history = history_lines(report)
    if history:
        lines += ["", "Attention history", *(f"  {line}" for line in history)]
    return "\n".join(lines)


def _bars(title: str, data: Mapping[str, float], unit: str = "") -> str:
    """A horizontal bar chart as inline SVG."""
    if not data:
        return f"<h2>{html.escape(title)}</h2><p>No data yet.</p>"
    top = max(data.values()) or 1
    row, label_w, bar_w = 26, 190, 360
    height = row * len(data) + 10
    parts = [
        f'<h2>{html.escape(title)}</h2><svg role="img" aria-label="{html.escape(title)}" '
        f'width="{label_w + bar_w + 80}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(data.items()):
        y = 5 + i * row
        width = max(1, round(bar_w * value / top))
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{html.escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{row - 8}" fill="#2b6cb0"></rect>'
            f'<text x="{label_w + width + 6}" y="{y + 17}">{value:g}{unit}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table_html(table: Table) -> str:
    """A table with a header row; every cell escaped."""
    head = "".join(f"<th>{html.escape(column)}</th>" for column in table.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell) or '-'}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    return f'<table class="wide"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_html(report: CohortReport, *, generated_at: str | None = None, partnerships: Table | None = None) -> str:
    """The report as a page; with ``generated_at`` (already in the display time zone) and, with ``partnerships``,
    a table of one row per partnership (ids, stages, dates and counts: no personal data)."""
    h = report.hours
    table = "".join(f"<tr><th>{html.escape(k.strip())}</th><td>{html.escape(v)}</td></tr>" for k, v in _rows(report))
    charts = [
        _bars("Partnerships by stage", report.by_stage),
        _bars("Pair meetings per pair", report.meetings_distribution),
        _bars(
            f"Hours against the {h.target_min:.0f}-{h.target_max:.0f} h target",
            {"below": h.below_target, "within": h.within_target, "above": h.above_target},
        ),
        _bars("Mentee outcomes", report.outcomes),
        _bars("Check-in scores (how is it going, 1-5)", report.checkins.scores),
        _bars(
            "Closing review ratings (mean, 1-5)",
            {
                k: v
                for k, v in {"mentees": report.mentee_rating_mean, "mentors": report.mentor_rating_mean}.items()
                if v is not None
            },
        ),
    ]
    lines = history_lines(report)
    history = (
        "<h2>Attention history</h2><ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"
        if lines
        else ""
    )
    title = f"Cohort report: {html.escape(report.cohort_id)}"
    generated = f"<p>Generated {html.escape(generated_at)}.</p>" if generated_at else ""
    per_partnership = (
        f"<h2>Partnerships ({len(partnerships.rows)})</h2>{_table_html(partnerships)}" if partnerships else ""
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}"
        "table{border-collapse:collapse}th,td{border-bottom:1px solid #ddd;padding:.3rem .8rem;text-align:left}"
        "svg text{font-size:13px}table.wide{font-size:12px;display:block;overflow-x:auto}</style></head><body>"
        f"<h1>{title}</h1>{generated}<table>{table}</table>{''.join(charts)}{history}{per_partnership}"
        "<p><small>EntryPoint Engine. Counts only: no personal data.</small></p></body></html>"
    )
