"""Load the demo project: a new user meets songs, tasks, credits, splits and (once the audio
side can ingest files) a waveform, comments and an approval at once. Idempotent."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from audio.demo import seed_demo_audio, seed_demo_master, seed_demo_render
from bookings.demo import seed_demo_bookings
from delivery.demo import seed_demo_release
from sessions.services import approval_give, comment_add
from songsheet.demo import seed_demo_sheet
from studio.models import Project, Stage
from studio.services import credits, projects, rights, songs, tasks
from timesheets.demo import seed_demo_time

DEMO_PASSWORD = "studio-demo"  # noqa: S105  (printed demo login, by design)
DEMO_USERS = [
    ("mia", "Mia", "producer"),
    ("leo", "Leo", "engineer"),
    ("ava", "Ava", "artist"),
    ("sam", "Sam", "viewer"),
]


class Command(BaseCommand):
    help = "Create the demo project 'Demo EP' with one user per role, and print their logins."

    def handle(self, *args: Any, **options: Any) -> None:
        users = self._users()
        project = Project.objects.filter(name="Demo EP", created_by=users["mia"]).first()
        if project is None:
            project = self._project(users)
            self._audio(project, users)
        self.stdout.write(self.style.SUCCESS(f"Demo project: {project.name} (id {project.pk})"))
        self.stdout.write(f"Logins (password for all: {DEMO_PASSWORD}):")
        for username, _, role in DEMO_USERS:
            self.stdout.write(f"  {username:<5} {role}")

    def _users(self) -> dict[str, Any]:
        user_model = get_user_model()
        users = {}
        for username, first_name, _ in DEMO_USERS:
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"first_name": first_name}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            users[username] = user
        return users

    @transaction.atomic
    def _project(self, users: dict[str, Any]) -> Project:
        mia = users["mia"]
        project = projects.project_create(
            actor=mia, name="Demo EP", description="Three songs on their way to release."
        )
        for username, _, role in DEMO_USERS[1:]:
            projects.member_add(actor=mia, project=project, username=username, role=role)

        night = songs.song_create(
            actor=mia, project=project, title="Night Drive", key="F# minor", tempo_bpm="104.00"
        )
        for stage in (Stage.RECORDING, Stage.EDITING, Stage.MIXING):
            songs.song_move_stage(actor=mia, song=night, to=stage)
        harbour = songs.song_create(
            actor=mia, project=project, title="Glass Harbour", key="D major", tempo_bpm="88.00"
        )
        songs.song_move_stage(actor=mia, song=harbour, to=Stage.RECORDING)
        tide = songs.song_create(actor=mia, project=project, title="Low Tide")

        today = timezone.localdate()
        tasks.task_create(
            actor=mia,
            song=night,
            title="Print mix 3 with the vocal up 1 dB",
            assignee=users["leo"],
            due_date=today + datetime.timedelta(days=2),
            status="doing",
        )
        tasks.task_create(
            actor=mia,
            song=night,
            title="Approve the chorus balance",
            assignee=users["ava"],
            due_date=today - datetime.timedelta(days=1),
        )
        tasks.task_create(
            actor=mia,
            song=harbour,
            title="Track the lead vocal",
            assignee=users["ava"],
            due_date=today + datetime.timedelta(days=5),
        )
        tasks.task_create(
            actor=mia,
            song=harbour,
            title="Comp the drum takes",
            assignee=users["leo"],
            status="review",
        )
        tasks.task_create(
            actor=mia,
            song=tide,
            title="Finish the second verse lyric",
            assignee=users["ava"],
            stage=Stage.PRE_PRODUCTION,
        )
        tasks.task_create(actor=mia, song=tide, title="Pick a tempo", status="done")

        credits.credit_add(actor=mia, song=night, role="composer", contributor_name="Ava Reyes")
        credits.credit_add(actor=mia, song=night, role="lyricist", contributor_name="Ava Reyes")
        credits.credit_add(
            actor=mia,
            song=night,
            role="performer",
            contributor_name="Ava Reyes",
            instrument="vocals",
            user=users["ava"],
        )
        credits.credit_add(
            actor=mia, song=night, role="producer", contributor_name="Mia Chen", user=mia
        )
        credits.credit_add(
            actor=mia,
            song=night,
            role="mixing_engineer",
            contributor_name="Leo Park",
            user=users["leo"],
        )
        rights.split_set(
            actor=mia,
            song=night,
            right="composition",
            shares=[
                {"party": "Ava Reyes", "share": "60.00"},
                {"party": "Mia Chen", "share": "40.00"},
            ],
        )
        rights.split_set(
            actor=mia,
            song=night,
            right="master",
            shares=[{"party": "Demo Records", "share": "100.00"}],
        )
        rights.sample_use_add(
            actor=mia,
            song=night,
            source_work="Rain on a Tin Roof (field rec.)",
            rights_holder="Freesound user 'drip'",
            kind="sample",
            clearance="cleared",
            notes="CC0, kept for the intro.",
        )
        rights.sample_use_add(
            actor=mia,
            song=harbour,
            source_work="Harbour Lights (1962)",
            rights_holder="Old Town Music",
            kind="interpolation",
            clearance="pending",
            notes="Four bars of the bridge melody.",
        )
        seed_demo_sheet(project=project, users=users)
        seed_demo_time(project=project, users=users)
        seed_demo_bookings(project=project, users=users)
        return project

    def _audio(self, project: Project, users: dict[str, Any]) -> None:
        """Synthesised stems and two mix versions, with the artist's comments and approval."""
        first, second = seed_demo_audio(project=project, users=users)
        leo, ava, mia = users["leo"], users["ava"], users["mia"]
        comment = comment_add(
            actor=ava, mix=first, start_s=12.0, body="The vocal gets lost under the pad here."
        )
        comment_add(actor=leo, mix=first, parent=comment, body="Agreed, fixing it in mix 2.")
        comment_add(
            actor=ava,
            mix=second,
            start_s=27.5,
            end_s=36.0,
            body="Love this lift. Can the hats come up a touch?",
        )
        approval_give(actor=ava, mix=second, verdict="approved", note="Happy with this one.")
        self.stdout.write(
            f"Demo audio: 4 stems and 2 mixes of '{first.song.title}' (analysis queued); "
            f"{mia.username} can approve mix 2 and move the song to mastering."
        )
        rendered = seed_demo_render(project=project, users=users)
        self.stdout.write(
            f"Demo render: {rendered} of '{rendered.song.title}' was rendered from its 4 stems "
            f"({rendered.state}); {leo.username} can open its mixer, change it and render again."
        )
        master = seed_demo_master(project=project, users=users, mix=rendered)
        self.stdout.write(
            f"Demo master: {master} of '{master.song.title}' from {rendered}, matched to a "
            "reference track at the Spotify preset; the team can review and approve it."
        )
        release = seed_demo_release(project=project, users=users)
        self.stdout.write(
            f"Demo release: '{release.title}' with {release.tracks.count()} track(s); once "
            "its master is approved, the team can sequence and deliver it."
        )
