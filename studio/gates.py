"""Stage gates as pure functions over plain facts: the easiest rules in the house to test.

`gate_checks(facts, to)` lists every condition of a move, met or not; `song_can_enter_stage`
returns the unmet reasons (empty means the move may pass).

Every forward move checks the open tasks of each stage it leaves (a producer may override those
with a reason, kept in the history); a project may add checks of its own from PROJECT_CHECKS;
mastering needs an approved mix, delivery an approved master and the rights in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

STAGES = ("pre_production", "recording", "editing", "mixing", "mastering", "delivered")
STAGE_LABELS = {
    "pre_production": "pre-production",
    "recording": "recording",
    "editing": "editing",
    "mixing": "mixing",
    "mastering": "mastering",
    "delivered": "delivered",
}
RIGHTS = ("composition", "master")

# Checks a project may add to its gates (Project.gate_checks): name -> what it asks. Each applies
# to every move out of the stage PROJECT_CHECK_LEAVES names (into the next one or later).
PROJECT_CHECKS = {
    "stems_uploaded": "stems or takes uploaded",
    "keeper_for_every_part": "a keeper take for every part",
    "sections_written": "arrangement sections written",
}
PROJECT_CHECK_LEAVES = {
    "stems_uploaded": "recording",
    "keeper_for_every_part": "recording",
    "sections_written": "pre_production",
}


@dataclass(frozen=True)
class SongFacts:
    stage: str
    has_approved_mix: bool
    has_approved_master: bool
    split_totals: dict[str, Decimal]  # right -> total of shares (missing right = no splits)
    pending_or_denied_samples: int
    composer_credits: int
    performer_credits: int
    open_tasks: dict[str, int] = field(default_factory=dict)  # stage -> tasks not done
    stems_and_takes: int = 0
    parts_without_keeper: int = 0
    project_checks: frozenset[str] = frozenset()  # names from PROJECT_CHECKS
    sections: int = 0  # arrangement sections on the song sheet


def is_forward(from_stage: str, to_stage: str) -> bool:
    return STAGES.index(to_stage) > STAGES.index(from_stage)


@dataclass(frozen=True)
class GateCheck:
    """One condition of a gate: what it asks (`label`), whether the song meets it, and the
    sentence that says why not (`reason`). The page's checklist, the API's gates and the 409 of
    a refused move all show these, so they never disagree."""

    label: str
    met: bool
    reason: str
    overridable: bool = False  # open tasks: a producer may move on anyway, saying why

    def as_dict(self) -> dict[str, str | bool]:
        return {
            "label": self.label,
            "met": self.met,
            "reason": "" if self.met else self.reason,
            "overridable": self.overridable,
        }


def gate_checks(facts: SongFacts, to_stage: str) -> list[GateCheck]:
    """Every condition of moving forward into `to_stage`, met or not. Gates are cumulative:
    delivering also needs what mastering needs (no skipping past a gate by jumping two
    stages). Moving back, or to the current stage, has no conditions here."""
    if to_stage not in STAGES or not is_forward(facts.stage, to_stage):
        return []
    target = STAGES.index(to_stage)
    checks: list[GateCheck] = []
    for stage in STAGES[STAGES.index(facts.stage) : target]:
        n = facts.open_tasks.get(stage, 0)
        label = STAGE_LABELS[stage]
        checks.append(
            GateCheck(
                f"{label} tasks done",
                n == 0,
                f"{n} open {label} task{'s' if n != 1 else ''}",
                overridable=True,
            )
        )
    if target > STAGES.index("pre_production") and "sections_written" in facts.project_checks:
        checks.append(
            GateCheck(
                PROJECT_CHECKS["sections_written"],
                facts.sections > 0,
                "no arrangement sections written on the song sheet yet",
            )
        )
    if target > STAGES.index("recording"):
        if "stems_uploaded" in facts.project_checks:
            checks.append(
                GateCheck(
                    PROJECT_CHECKS["stems_uploaded"],
                    facts.stems_and_takes > 0,
                    "no stems or takes uploaded yet",
                )
            )
        if "keeper_for_every_part" in facts.project_checks:
            n = facts.parts_without_keeper
            checks.append(
                GateCheck(
                    PROJECT_CHECKS["keeper_for_every_part"],
                    n == 0,
                    f"{n} part{'s have' if n != 1 else ' has'} no keeper take",
                )
            )
    if target >= STAGES.index("mastering"):
        checks.append(GateCheck("an approved mix", facts.has_approved_mix, "no approved mix yet"))
    if target >= STAGES.index("delivered"):
        checks.append(
            GateCheck("an approved master", facts.has_approved_master, "no approved master yet")
        )
        for right in RIGHTS:
            total = facts.split_totals.get(right)
            label = "composition" if right == "composition" else "master recording"
            reason = (
                f"no {label} splits yet"
                if total is None
                else f"{label} splits total {total}, not 100.00"
            )
            checks.append(
                GateCheck(f"{label} splits total 100.00", total == Decimal("100.00"), reason)
            )
        n = facts.pending_or_denied_samples
        checks.append(
            GateCheck(
                "no sample use pending or denied",
                n == 0,
                f"{n} sample use{'s' if n != 1 else ''} pending or denied clearance",
            )
        )
        checks.append(
            GateCheck("a composer credited", facts.composer_credits > 0, "no composer credited")
        )
        checks.append(
            GateCheck("a performer credited", facts.performer_credits > 0, "no performer credited")
        )
    return checks


def song_can_enter_stage(facts: SongFacts, to_stage: str, *, override: bool = False) -> list[str]:
    """Unmet reasons for moving into `to_stage` (empty means the move may pass). With
    `override`, unmet overridable checks (open tasks) do not hold the move."""
    if to_stage not in STAGES:
        return [f"unknown stage '{to_stage}'"]
    if to_stage == facts.stage:
        return [f"the song is already in {to_stage.replace('_', '-')}"]
    return [
        c.reason
        for c in gate_checks(facts, to_stage)
        if not c.met and not (override and c.overridable)
    ]
