"""The peaks endpoint's fixed read answers what the scoped ORM query it replaces answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.utils import timezone

from audio.models import Asset
from audio.peaks import peaks_store
from audio.selectors import PEAKS_FIELDS, asset_get_for_peaks
from audio.services.assets import asset_ingest_file
from studio.models import Membership, Project
from studio.querysets import alive
from tests.audio.audiofiles import write_wav


def _asset(scenario: Any, tmp_path: Path, name: str = "a.wav") -> Any:
    path = write_wav(tmp_path / name, seconds=0.5, seed=len(name))
    asset = asset_ingest_file(
        actor=scenario.users["engineer"], project=scenario.project, path=path, original_name=name
    )
    peaks = {"version": 1, "levels": [{"length": 2, "data": [0, 1, -1, 2]}]}
    Asset.objects.filter(pk=asset.pk).update(
        **peaks_store(project_id=asset.project_id, sha256=asset.sha256, peaks=peaks)
    )
    return asset


def _orm(user: Any, asset_id: int) -> Any:
    return Asset.objects.visible_to(user).filter(pk=asset_id).first()


def test_an_asset_belongs_to_no_song_so_only_its_project_scopes_it() -> None:
    """The fixed read joins the project and the membership only: true while no song's deletion
    can hide an asset."""
    assert alive(Asset) == Q()


def test_every_identity_gets_what_the_scoped_queryset_gives(
    scenario: Any, other_scenario: Any, tmp_path: Path
) -> None:
    mine = _asset(scenario, tmp_path)
    other = _asset(other_scenario, tmp_path, "other.wav")
    identities = {**scenario.users, "anonymous": AnonymousUser()}
    for who, user in identities.items():
        for asset_id in (mine.pk, other.pk, 10**9):
            fixed = asset_get_for_peaks(user=user, asset_id=asset_id)
            orm = _orm(user, asset_id) if who != "anonymous" else None
            assert (fixed is None) == (orm is None), (who, asset_id)
            if fixed is None:
                continue
            for name in PEAKS_FIELDS:
                assert getattr(fixed, name) == getattr(orm, name), (who, name)
            role = Membership.objects.get(project_id=orm.project_id, user=user).role
            assert fixed.viewer_role == role
    assert isinstance(
        asset_get_for_peaks(user=scenario.users["viewer"], asset_id=mine.pk).peaks_index, dict
    )


def test_a_deleted_project_hides_its_assets_and_a_removed_member_loses_them(
    scenario: Any, tmp_path: Path
) -> None:
    asset = _asset(scenario, tmp_path)
    artist = scenario.users["artist"]
    Membership.objects.filter(project=scenario.project, user=artist).delete()
    assert asset_get_for_peaks(user=artist, asset_id=asset.pk) is None
    assert _orm(artist, asset.pk) is None
    Project.objects.filter(pk=scenario.project.pk).update(deleted_at=timezone.now())
    producer = scenario.users["producer"]
    assert asset_get_for_peaks(user=producer, asset_id=asset.pk) is None
    assert _orm(producer, asset.pk) is None


def test_the_peaks_endpoint_answers_members_and_404s_everyone_else(
    scenario: Any, tmp_path: Path
) -> None:
    asset = _asset(scenario, tmp_path)
    for who in ("producer", "engineer", "artist", "viewer"):
        response = scenario.client(who).get(f"/api/assets/{asset.pk}/peaks/?width=1")
        assert response.status_code == 200, who
        assert response.json()["peaks"]["levels"] == [{"length": 2, "data": [0, 1, -1, 2]}]
    assert scenario.client("outsider").get(f"/api/assets/{asset.pk}/peaks/").status_code == 404
    assert scenario.client(None).get(f"/api/assets/{asset.pk}/peaks/").status_code in (401, 403)
    for bad in ("0", "99999999999999999999", "-1"):
        assert scenario.client("viewer").get(f"/api/assets/{bad}/peaks/").status_code == 404
