"""CSV exports of a project's time: the entries, and the summary per song and stage.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return) as a formula,
so such a text cell is written with a leading apostrophe: a note such as `=HYPERLINK(...)`
arrives as text. Numbers are numbers and are never quoted."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils.text import slugify

from studio.models import Project
from timesheets.durations import STAGE_LABELS
from timesheets.selectors import project_entries, project_summary

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text value a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def export_name(project: Project, what: str) -> str:
    """The file's name, after the project: `night-drive-ep-time-entries.csv`."""
    return f"{slugify(project.name) or 'project'}-{what}.csv"


def entries_csv(user: Any, project: Project) -> str:
    rows = [
        [
            e.spent_on.isoformat(),
            e.member.username,
            e.member.get_short_name() or e.member.username,
            e.song.title,
            STAGE_LABELS.get(e.stage, e.stage),
            e.task.title if e.task else "",
            f"{e.session.get_kind_display()} session {e.session.starts_at:%Y-%m-%d}"
            if e.session
            else "",
            e.minutes,
            e.note,
        ]
        for e in project_entries(user, project).order_by("spent_on", "id")
    ]
    header = ["day", "username", "member", "song", "stage", "task", "session", "minutes", "note"]
    return _csv(header, rows)


def summary_csv(user: Any, project: Project) -> str:
    rows: list[list[Any]] = []
    for song in project_summary(user, project):
        rows.extend(
            [
                song.title,
                cell.label,
                cell.tasks_planned,
                cell.sections_planned,
                cell.planned,
                cell.spent,
                cell.spent - cell.planned,
            ]
            for cell in song.stages
            if cell.planned or cell.spent
        )
        rows.append(
            [song.title, "All stages", "", "", song.planned, song.spent, song.spent - song.planned]
        )
    header = [
        "song",
        "stage",
        "planned_tasks_min",
        "planned_sections_min",
        "planned_min",
        "spent_min",
        "spent_minus_planned_min",
    ]
    return _csv(header, rows)
