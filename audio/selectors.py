"""Reads for a user that the hot paths make on every request, as fixed statements."""

from __future__ import annotations

from functools import cache
from typing import Any

from audio.models import Asset
from studio.api.permissions import VIEWER_ROLE
from studio.models import Membership, Project
from studio.querysets import FixedRead

PEAKS_FIELDS = ("id", "project_id", "sha256", "peaks_name", "peaks_index")


@cache
def _asset_peaks_read() -> FixedRead:
    """`Asset.objects.visible_to(user)` narrowed to one asset and the fields the peaks answer
    needs, with the user's role: the member's project, not deleted (no song's deletion hides an
    asset: it belongs to none, which tests/audio/test_selectors.py checks)."""
    projects, memberships = Project._meta, Membership._meta
    return FixedRead.compose(
        Asset,
        fields=PEAKS_FIELDS,
        alias="a",
        extra=[(VIEWER_ROLE, f'm."{memberships.get_field("role").column}"')],
        rest=(
            f'JOIN "{projects.db_table}" p ON p."{projects.pk.column}" = '
            f'a."{Asset._meta.get_field("project").column}" '
            f'AND p."{projects.get_field("deleted_at").column}" IS NULL '
            f'JOIN "{memberships.db_table}" m '
            f'ON m."{memberships.get_field("project").column}" = p."{projects.pk.column}" '
            f'AND m."{memberships.get_field("user").column}" = %s '
            f'WHERE a."{Asset._meta.pk.column}" = %s'
        ),
    )


def asset_get_for_peaks(*, user: Any, asset_id: int) -> Asset | None:
    """The asset with only its peaks fields and `viewer_role` set, or None when the user may not
    see it. The player asks for peaks on every page, and building and compiling the scoped ORM
    query was most of that answer's time (L2 in docs/reliability.md)."""
    if not getattr(user, "is_authenticated", False):
        return None
    asset: Asset | None = _asset_peaks_read().first([user.pk, asset_id])
    return asset
