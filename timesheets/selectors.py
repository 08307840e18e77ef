"""Reads of time planned and spent, scoped to the user's memberships.

Planned time of a song in a stage is the sum of the estimates of its tasks of that stage, plus,
in the recording stage, the estimates of its arrangement sections (`songsheet.Section`):
sections are what gets tracked ("how much time will be spent on different sections"), so their
estimates plan the recording. Spent time is the sum of the entries counted to that stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet, Sum

from songsheet.models import Section
from studio.models import Project, Song, Stage, Task
from timesheets.durations import STAGE_LABELS
from timesheets.models import TimeEntry

SECTIONS_STAGE = Stage.RECORDING


@dataclass
class StageBudget:
    stage: str
    label: str
    tasks_planned: int = 0
    sections_planned: int = 0
    spent: int = 0

    @property
    def planned(self) -> int:
        return self.tasks_planned + self.sections_planned

    @property
    def over(self) -> int:
        """Minutes spent past the plan (0 when within it or when nothing was planned)."""
        return max(self.spent - self.planned, 0) if self.planned else 0


@dataclass
class SongBudget:
    song_id: int
    title: str
    song_stage: str
    archived: bool
    stages: list[StageBudget]
    sections: list[dict[str, Any]] = field(default_factory=list)  # name, estimate, in order

    @property
    def planned(self) -> int:
        return sum(s.planned for s in self.stages)

    @property
    def spent(self) -> int:
        return sum(s.spent for s in self.stages)

    @property
    def over(self) -> int:
        """Over budget: more spent than planned, for a song with a plan at all."""
        return max(self.spent - self.planned, 0) if self.planned else 0

    @property
    def over_percent(self) -> int:
        return round(100 * self.over / self.planned) if self.planned else 0


def entries_visible(user: Any) -> QuerySet[TimeEntry]:
    return TimeEntry.objects.visible_to(user).select_related("member", "song", "task", "session")


def project_entries(user: Any, project: Project) -> QuerySet[TimeEntry]:
    return entries_visible(user).filter(project=project)


def project_summary(user: Any, project: Project) -> list[SongBudget]:
    """Planned against spent per song (in the project's order) and per stage (in pipeline order),
    songs with nothing planned or spent included. Four queries whatever the size."""
    songs = list(
        Song.objects.visible_to(user)
        .filter(project=project)
        .order_by("id")
        .values("id", "title", "stage", "archived_at")
    )
    ids = [s["id"] for s in songs]
    budgets = {
        s["id"]: SongBudget(
            song_id=s["id"],
            title=s["title"],
            song_stage=s["stage"],
            archived=s["archived_at"] is not None,
            stages=[StageBudget(stage=v, label=STAGE_LABELS[v]) for v in Stage.values],
        )
        for s in songs
    }
    index = {v: i for i, v in enumerate(Stage.values)}

    def cell(song_id: int, stage: str) -> StageBudget:
        return budgets[song_id].stages[index[stage]]

    tasks = (
        Task.objects.filter(song_id__in=ids, estimate_minutes__isnull=False)
        .values("song_id", "stage")
        .annotate(total=Sum("estimate_minutes"))
    )
    for row in tasks:
        cell(row["song_id"], row["stage"]).tasks_planned = row["total"] or 0
    sections = (
        Section.objects.filter(song_id__in=ids)
        .order_by("song_id", "position", "id")
        .values("song_id", "name", "position", "estimate_minutes")
    )
    for row in sections:
        budgets[row["song_id"]].sections.append(row)
        if row["estimate_minutes"]:
            cell(row["song_id"], SECTIONS_STAGE).sections_planned += row["estimate_minutes"]
    spent = (
        TimeEntry.objects.filter(song_id__in=ids)
        .values("song_id", "stage")
        .annotate(total=Sum("minutes"))
    )
    for row in spent:
        cell(row["song_id"], row["stage"]).spent = row["total"] or 0
    return list(budgets.values())


def over_budget(user: Any, project: Project) -> list[SongBudget]:
    """The songs running over budget, the largest overrun in minutes first (then by share)."""
    return sorted((b for b in project_summary(user, project) if b.over > 0), key=_overrun)


def _overrun(b: SongBudget) -> tuple[int, int, int]:
    return (-b.over, -b.over_percent, b.song_id)


def summary(user: Any, project: Project) -> dict[str, Any]:
    """The project's totals, its songs' budgets and the songs over budget (the API's shape)."""
    songs = project_summary(user, project)
    over = sorted((b for b in songs if b.over), key=_overrun)
    return {
        "project": project.pk,
        "planned": sum(b.planned for b in songs),
        "spent": sum(b.spent for b in songs),
        "songs": songs,
        "over_budget": [b.song_id for b in over],
    }
