"""Stage gates as pure functions over plain facts: the easiest rules in the house to test.

`song_can_enter_stage(facts, to)` returns the unmet reasons (empty means the move may pass).
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


def song_can_enter_stage(facts: SongFacts, to_stage: str) -> list[str]:
    """Unmet reasons for moving forward into `to_stage`. Gates are cumulative: delivering also
    needs what mastering needs (you cannot skip past a gate by jumping two stages)."""
    if to_stage not in STAGES:
        return [f"unknown stage '{to_stage}'"]
    if to_stage == facts.stage:
        return [f"the song is already in {to_stage.replace('_', '-')}"]
    if not is_forward(facts.stage, to_stage):
        return []
    target = STAGES.index(to_stage)
    reasons: list[str] = []
    if target >= STAGES.index("mastering") and not facts.has_approved_mix:
        reasons.append("no approved mix yet")
    if target >= STAGES.index("delivered"):
        if not facts.has_approved_master:
            reasons.append("no approved master yet")
        for right in RIGHTS:
            total = facts.split_totals.get(right)
            label = "composition" if right == "composition" else "master recording"
            if total is None:
                reasons.append(f"no {label} splits yet")
            elif total != Decimal("100.00"):
                reasons.append(f"{label} splits total {total}, not 100.00")
        if facts.pending_or_denied_samples:
            n = facts.pending_or_denied_samples
            reasons.append(f"{n} sample use{'s' if n != 1 else ''} pending or denied clearance")
        if facts.composer_credits < 1:
            reasons.append("no composer credited")
        if facts.performer_credits < 1:
            reasons.append("no performer credited")
    return reasons
