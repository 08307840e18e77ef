"""Rights: splits that must add up, and sample uses with their clearance."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from eventlog.services import event_record, project_lock
from studio.errors import Invalid, SplitTotalInvalid
from studio.models import Clearance, Right, SampleKind, SampleUse, Song, Split
from studio.models.limits import text_lengths_check_rows
from studio.parsing import decimal_text
from studio.payloads import sample_use_payload
from studio.roles import Capability
from studio.selectors import require_capability

HUNDRED = Decimal("100.00")
SAMPLE_FIELDS = ("source_work", "rights_holder", "kind", "clearance", "notes")


def _share(value: Any, index: int) -> Decimal:
    """One typed share, read by studio.parsing.decimal_text (a decimal point or comma)."""
    where = f"shares[{index}].share"
    if isinstance(value, str) and not value.strip():
        raise Invalid(f"{where} is empty: give a percentage", fields={where: ["required"]})
    share = decimal_text(value)
    if share is None:
        shown = str(value).strip()[:20]
        raise Invalid(
            f"{where} '{shown}' is not a number (write it like 50.5 or 50,5)",
            fields={where: ["not a number"]},
        )
    if share <= 0:
        raise Invalid(f"{where} must be more than 0", fields={where: ["must be more than 0"]})
    if share.as_tuple().exponent < -2:  # type: ignore[operator]
        raise Invalid(
            f"{where} has more than 2 decimal places", fields={where: ["at most 2 decimal places"]}
        )
    if share > HUNDRED:
        raise Invalid(f"{where} is over 100", fields={where: ["at most 100"]})
    return share.quantize(Decimal("0.01"))


def _party(item: dict[str, Any], index: int) -> str:
    party = str(item.get("party", "")).strip()
    if not party:
        raise Invalid(
            f"shares[{index}].party is empty",
            fields={f"shares[{index}].party": ["name the party"]},
        )
    return party


@dataclass(frozen=True)
class SplitPreview:
    """What a split set would be if saved: the total of the shares that read, and every row's
    problem (the errors `split_set` would raise, all at once instead of the first)."""

    total: Decimal
    problems: list[Invalid]

    @property
    def ok(self) -> bool:
        return not self.problems and self.total == HUNDRED


def _check(shares: list[dict[str, Any]]) -> tuple[list[tuple[str, Decimal]], list[Invalid]]:
    parsed: list[tuple[str, Decimal]] = []
    problems: list[Invalid] = []
    seen: set[str] = set()
    for index, item in enumerate(shares):
        party: str | None = None
        try:
            party = _party(item, index)
            if party.lower() in seen:
                raise Invalid(
                    f"{party} appears twice", fields={f"shares[{index}].party": ["twice"]}
                )
            seen.add(party.lower())
        except Invalid as problem:
            problems.append(problem)
        try:
            share = _share(item.get("share"), index)
        except Invalid as problem:
            problems.append(problem)
            continue
        parsed.append((party or "", share))
    return parsed, problems


def _total(parsed: list[tuple[str, Decimal]]) -> Decimal:
    return sum((share for _, share in parsed), Decimal("0.00"))


def split_preview(*, shares: list[dict[str, Any]]) -> SplitPreview:
    """The splits form's running total, by the same reading and rules as `split_set` (a page
    asks this as the person types, so page and server cannot disagree). Stores nothing."""
    parsed, problems = _check(shares)
    return SplitPreview(total=_total(parsed), problems=problems)


def splits_payload(song_id: int, right: str, splits: list[Split]) -> dict[str, Any]:
    return {
        "song": song_id,
        "right": right,
        "shares": [{"party": s.party, "share": str(s.share)} for s in splits],
    }


def split_set(*, actor: Any, song: Song, right: str, shares: list[dict[str, Any]]) -> list[Split]:
    """Replace the whole split set of one right. Shares total exactly 100.00, or nothing is
    stored (an empty list clears the right)."""
    require_capability(
        user=actor, project_id=song.project_id, capability=Capability.RIGHTS_EDIT, song_id=song.pk
    )
    if right not in Right.values:
        raise Invalid(
            f"unknown right '{right}'",
            fields={"right": [f"choose one of {', '.join(Right.values)}"]},
        )
    parsed, problems = _check(shares)
    if problems:
        raise problems[0]
    total = _total(parsed)
    if parsed and total != HUNDRED:
        raise SplitTotalInvalid(
            f"{right} shares total {total:.2f}, they must total exactly 100.00",
            fields={"shares": [f"total is {total:.2f}, not 100.00"], "total": [f"{total:.2f}"]},
        )
    rows = text_lengths_check_rows(
        Split(song=song, right=right, party=party, share=share, position=i)
        for i, (party, share) in enumerate(parsed)
    )
    with transaction.atomic():
        project_lock(song.project_id)
        Split.objects.filter(song=song, right=right).delete()
        splits = Split.objects.bulk_create(rows)
        event_record(
            project=song.project_id,
            type="splits.set",
            payload=splits_payload(song.pk, right, splits),
            actor=actor,
        )
    return splits


def _validate_sample(fields: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if "kind" in fields and fields["kind"] not in SampleKind.values:
        errors["kind"] = [f"choose one of {', '.join(SampleKind.values)}"]
    if "clearance" in fields and fields["clearance"] not in Clearance.values:
        errors["clearance"] = [f"choose one of {', '.join(Clearance.values)}"]
    if errors:
        raise Invalid("; ".join(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)


def sample_use_add(
    *,
    actor: Any,
    song: Song,
    source_work: str,
    kind: str,
    rights_holder: str = "",
    clearance: str = Clearance.PENDING,
    notes: str = "",
) -> SampleUse:
    require_capability(
        user=actor, project_id=song.project_id, capability=Capability.RIGHTS_EDIT, song_id=song.pk
    )
    fields = {
        "source_work": source_work,
        "rights_holder": rights_holder,
        "kind": kind,
        "clearance": clearance,
        "notes": notes,
    }
    _validate_sample(fields)
    with transaction.atomic():
        sample = SampleUse.objects.create(song=song, **fields)
        event_record(
            project=song.project_id,
            type="sample_use.added",
            payload={"sample_use": sample_use_payload(sample)},
            actor=actor,
        )
    return sample


def sample_use_update(*, actor: Any, sample_use: SampleUse, **fields: Any) -> SampleUse:
    project_id = sample_use.song.project_id
    require_capability(
        user=actor,
        project_id=project_id,
        capability=Capability.RIGHTS_EDIT,
        song_id=sample_use.song_id,
    )
    changes = {k: v for k, v in fields.items() if k in SAMPLE_FIELDS}
    _validate_sample(changes)
    with transaction.atomic():
        for name, value in changes.items():
            setattr(sample_use, name, value)
        sample_use.save()
        event_record(
            project=project_id,
            type="sample_use.updated",
            payload={"sample_use": sample_use_payload(sample_use)},
            actor=actor,
        )
    return sample_use


def sample_use_remove(*, actor: Any, sample_use: SampleUse) -> None:
    project_id = sample_use.song.project_id
    require_capability(
        user=actor,
        project_id=project_id,
        capability=Capability.RIGHTS_EDIT,
        song_id=sample_use.song_id,
    )
    with transaction.atomic():
        payload = {"sample_use": {"id": sample_use.pk, "song": sample_use.song_id}}
        sample_use.delete()
        event_record(project=project_id, type="sample_use.removed", payload=payload, actor=actor)
