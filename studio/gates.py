"""Stage gates as pure functions over plain facts: the easiest rules in the house to test.

`gate_checks(facts, to)` lists every condition of a move, met or not; `song_can_enter_stage`
returns the unmet reasons (empty means the move may pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

STAGES = ("pre_production", "recording", "editing", "mixing", "mastering", "delivered")
RIGHTS = ("composition", "master")


@dataclass(frozen=True)
class SongFacts:
    stage: str
    has_approved_mix: bool
    has_approved_master: bool
    split_totals: dict[str, Decimal]  # right -> total of shares (missing right = no splits)
    pending_or_denied_samples: int
    composer_credits: int
    performer_credits: int


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

    def as_dict(self) -> dict[str, str | bool]:
        return {"label": self.label, "met": self.met, "reason": "" if self.met else self.reason}


def gate_checks(facts: SongFacts, to_stage: str) -> list[GateCheck]:
    """Every condition of moving forward into `to_stage`, met or not. Gates are cumulative:
    delivering also needs what mastering needs (no skipping past a gate by jumping two
    stages). Moving back, or to the current stage, has no conditions here."""
    if to_stage not in STAGES or not is_forward(facts.stage, to_stage):
        return []
    target = STAGES.index(to_stage)
    checks: list[GateCheck] = []
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


def song_can_enter_stage(facts: SongFacts, to_stage: str) -> list[str]:
    """Unmet reasons for moving into `to_stage` (empty means the move may pass)."""
    if to_stage not in STAGES:
        return [f"unknown stage '{to_stage}'"]
    if to_stage == facts.stage:
        return [f"the song is already in {to_stage.replace('_', '-')}"]
    return [c.reason for c in gate_checks(facts, to_stage) if not c.met]
