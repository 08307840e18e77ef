"""Authorization matrix: every route in the URL resolver, every method, six principals.

Who may do what is written down here, by hand, as a table of role x action x resource (POLICY for
the API, PAGES for the server-rendered pages). It is deliberately not read from the code under
test (no viewset's `action_capabilities`, no studio.roles table), so a wrong declaration in a
viewset or a wrong row in the capability table disagrees with this table and fails. A route in
neither table fails too, so nothing new ships unlisted."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import Scenario

PRINCIPALS = ["anonymous", "outsider", "viewer", "artist", "engineer", "producer"]
UNSAFE = {"post", "put", "patch", "delete"}
SIGNED_IN = "signed-in"  # any signed-in user, member of the project or not
ROLE_LETTERS = {"P": "producer", "E": "engineer", "A": "artist", "V": "viewer"}


def roles(letters: str) -> frozenset[str]:
    """'PEA' -> {producer, engineer, artist}; SIGNED_IN -> every signed-in principal."""
    if letters == SIGNED_IN:
        return frozenset(PRINCIPALS) - {"anonymous"}
    return frozenset(ROLE_LETTERS[letter] for letter in letters)


# The API policy: "<METHOD> <route name>" -> the roles that may do it (P producer, E engineer,
# A artist, V viewer). Everyone else who is signed in gets 403 from the project they are a member
# of and 404 from a project they are not in; anonymous gets 401.
POLICY: dict[str, str] = {
    # projects and members
    "GET api-project-list": "PEAV",
    "POST api-project-list": SIGNED_IN,  # anyone may start a project of their own
    "GET api-project-detail": "PEAV",
    "PATCH api-project-detail": "P",
    "DELETE api-project-detail": "P",  # soft: restorable for 30 days
    "POST api-project-archive": "P",
    "POST api-project-unarchive": "P",
    "POST api-project-restore": "P",
    "GET api-project-events": "PEAV",
    "GET api-membership-list": "PEAV",
    "POST api-membership-list": "P",
    "GET api-membership-detail": "PEAV",
    "PATCH api-membership-detail": "P",
    "DELETE api-membership-detail": "P",
    # songs, their stages and rights
    "GET api-song-list": "PEAV",
    "POST api-song-list": "P",
    "GET api-song-detail": "PEAV",
    "PATCH api-song-detail": "P",
    "DELETE api-song-detail": "P",  # soft: restorable for 30 days
    "POST api-song-archive": "P",
    "POST api-song-unarchive": "P",
    "POST api-song-restore": "P",
    "GET api-song-gates": "PEAV",
    "GET api-song-history": "PEAV",
    "POST api-song-move": "P",
    "GET api-song-splits": "PEAV",
    "PUT api-song-splits": "P",
    "GET api-sampleuse-list": "PEAV",
    "POST api-sampleuse-list": "P",
    "GET api-sampleuse-detail": "PEAV",
    "PATCH api-sampleuse-detail": "P",
    "DELETE api-sampleuse-detail": "P",
    # the board: the producer plans, the people doing the work move their cards
    "GET api-task-list": "PEAV",
    "POST api-task-list": "P",
    "GET api-task-detail": "PEAV",
    "PATCH api-task-detail": "P",
    "DELETE api-task-detail": "P",
    "POST api-task-move": "PEA",
    # credits: producer and engineer
    "GET api-credit-list": "PEAV",
    "POST api-credit-list": "PE",
    "GET api-credit-detail": "PEAV",
    "PATCH api-credit-detail": "PE",
    "DELETE api-credit-detail": "PE",
    # audio: producer and engineer bring files in and make mixes; everyone listens
    "POST api-upload-list": "PE",
    "HEAD api-upload-detail": "PE",
    "PATCH api-upload-detail": "PE",
    "DELETE api-upload-detail": "PE",
    "GET api-upload-duplicate": "PE",  # a held upload: what it is identical to (its uploader's)
    "POST api-upload-confirm": "PE",
    "POST api-upload-cancel": "PE",
    "GET api-asset-list": "PEAV",
    "GET api-asset-detail": "PEAV",
    "GET api-asset-analysis": "PEAV",
    "GET api-asset-file": "PEAV",
    "GET api-asset-peaks": "PEAV",
    "GET api-stem-list": "PEAV",
    "POST api-stem-list": "PE",
    "GET api-stem-detail": "PEAV",
    "GET api-take-list": "PEAV",
    "POST api-take-list": "PE",
    "GET api-take-detail": "PEAV",
    "PATCH api-take-detail": "PE",
    "GET api-mix-list": "PEAV",
    "POST api-mix-list": "PE",
    "GET api-mix-detail": "PEAV",
    "DELETE api-mix-detail": "PE",  # discards a draft
    "GET api-mix-spec": "PEAV",  # everyone may read how a version is made
    "PUT api-mix-spec": "PE",
    "POST api-mix-render": "PE",
    "POST api-mix-preview": "PE",
    "GET api-reference-list": "PEAV",
    "POST api-reference-list": "PE",
    "GET api-reference-detail": "PEAV",
    "DELETE api-reference-detail": "PE",
    "GET api-master-list": "PEAV",
    "POST api-master-list": "PE",  # queues a master job
    "GET api-master-detail": "PEAV",
    "GET api-master-presets": SIGNED_IN,  # the platforms' published figures, no project's data
    "GET api-job-list": "PEAV",
    "GET api-job-detail": "PEAV",
    "POST api-job-cancel": "PE",  # whoever may start that kind of job
    # review: viewers only listen; a mix is approved by producer and artists
    "GET comment-list": "PEAV",
    "POST comment-list": "PEA",
    "GET comment-detail": "PEAV",
    "PATCH comment-detail": "PEA",
    "DELETE comment-detail": "PEA",
    "POST comment-resolve": "PEA",
    "POST comment-reopen": "PEA",
    "GET approval-list": "PEAV",
    "POST approval-list": "PA",
    "GET approval-detail": "PEAV",
    "GET approval-state": "PEAV",
    # working sessions and keeper takes: producer and engineer run the sessions
    "GET workingsession-list": "PEAV",
    "POST workingsession-list": "PE",
    "GET workingsession-detail": "PEAV",
    "PATCH workingsession-detail": "PE",
    "DELETE workingsession-detail": "PE",
    "POST workingsession-add-take": "PE",
    "POST workingsession-remove-take": "PE",
    "POST keeper-list": "PE",
    "GET presence-list": "PEAV",
    # delivery: the producer makes releases; producer and engineer deliver; everyone reads
    "GET api-release-list": "PEAV",
    "POST api-release-list": "P",
    "GET api-release-detail": "PEAV",
    "PATCH api-release-detail": "P",
    "DELETE api-release-detail": "P",
    "POST api-release-artwork": "P",
    "GET api-release-missing": "PEAV",
    "POST api-release-deliver": "PE",  # queues a deliver job
    "POST api-release-deliver-songs": "P",  # moves the songs to delivered: song.move
    "GET api-release-export": "PEAV",
    "GET api-releasetrack-list": "PEAV",
    "POST api-releasetrack-list": "P",
    "GET api-releasetrack-detail": "PEAV",
    "PATCH api-releasetrack-detail": "P",
    "DELETE api-releasetrack-detail": "P",
    "POST api-releasetrack-move": "P",
    # review links: producer and engineer send, read the stats, revoke and trace leaks
    "GET api-reviewlink-list": "PE",
    "POST api-reviewlink-list": "PE",  # queues a watermark job
    "GET api-reviewlink-detail": "PE",
    "POST api-reviewlink-revoke": "PE",
    "GET api-leaktrace-list": "PE",
    "POST api-leaktrace-list": "PE",  # stores the found file, queues a wmtrace job
    "GET api-leaktrace-detail": "PE",
    "GET api-delivery-list": "PEAV",
    "GET api-delivery-detail": "PEAV",
    # the song sheet: producers and artists write it, everyone reads it; a sample use recorded
    # from an influence is rights (producers)
    "GET api-songsheet-detail": "PEAV",
    "PUT api-songsheet-detail": "PA",
    "GET api-section-list": "PEAV",
    "POST api-section-list": "PA",
    "GET api-section-detail": "PEAV",
    "PATCH api-section-detail": "PA",
    "DELETE api-section-detail": "PA",
    "POST api-section-move": "PA",
    "GET api-paletteitem-list": "PEAV",
    "POST api-paletteitem-list": "PA",
    "GET api-paletteitem-detail": "PEAV",
    "PATCH api-paletteitem-detail": "PA",
    "DELETE api-paletteitem-detail": "PA",
    "GET api-influence-list": "PEAV",
    "POST api-influence-list": "PA",
    "GET api-influence-detail": "PEAV",
    "PATCH api-influence-detail": "PA",
    "DELETE api-influence-detail": "PA",
    "POST api-influence-record-sample": "P",
    # time: producers, engineers and artists log (and edit or delete their own: the entry made
    # for a principal is theirs when they may log); everyone reads the entries and the summary
    "GET api-timeentry-list": "PEAV",
    "POST api-timeentry-list": "PEA",
    "GET api-timeentry-detail": "PEAV",
    "PATCH api-timeentry-detail": "PEA",
    "DELETE api-timeentry-detail": "PEA",
    "GET api-timesummary-detail": "PEAV",
    # rooms and equipment: producer and engineer keep the inventory and book; everyone reads
    "GET api-resource-list": "PEAV",
    "POST api-resource-list": "PE",
    "GET api-resource-detail": "PEAV",
    "PATCH api-resource-detail": "PE",
    "DELETE api-resource-detail": "PE",
    "GET api-booking-list": "PEAV",
    "POST api-booking-list": "PE",
    "GET api-booking-detail": "PEAV",
    "PATCH api-booking-detail": "PE",
    "DELETE api-booking-detail": "PE",
}

# Routes that are not DRF viewsets and not pages: name -> who may use them.
EXTRA_ROUTES: dict[str, str] = {
    "api-token": "public",
    "api-schema": "public",
    "api-docs": "public",
    "login": "public",
    "logout": "public",
    "signup": "public",
    "password_change": "signed-in",
    "password_change_done": "signed-in",
    "password_reset": "public",
    "password_reset_done": "public",
    "password_reset_complete": "public",
    # Links that carry their own secret (tests/studio/test_invitations.py covers them).
    "password_reset_confirm": "link",
    "invitation-open": "link",
    "project-list": "signed-in",
    "project-create": "signed-in",
    "profile": "signed-in",  # one's own profile page
    "api-me": "api-signed-in",  # one's own profile: 401 without a sign-in, no capability
    # One's own notifications: per person, not per project (no capability; another person's
    # notification is a 404). test_own_notification_routes walks every "own" route.
    "inbox": "signed-in",
    "inbox-count": "signed-in",
    "inbox-read": "own",
    "inbox-read-all": "own",
    "inbox-preferences": "own",
    "api-notification-list": "own",
    "api-notification-detail": "own",
    "api-notification-read": "own",
    "api-notification-read-all": "own",
    "api-notification-preferences": "own",
    "api-notification-preference": "own",
    # A review link's holder has no account; the token travels in the fragment and a cookie
    # (tests/reviewlinks/test_pages.py covers every refusal).
    "review-public": "public",
    "review-public-open": "public",
    "review-public-audio": "public",
    "review-public-download": "public",
    "review-public-listen": "public",
    "review-public-comment": "public",
    # A member's private calendar feed: the token in the query is its key, no sign-in
    # (tests/bookings/test_ics.py covers every refusal).
    "ics-feed": "link",
    # What a running Studio says about itself (tests/studio/test_health.py covers them).
    "healthz": "public",
    "readyz": "probe",  # 503 while a dependency is down, by design
    "metrics": "token",  # 404 unless STUDIO_METRICS_TOKEN is set, then a bearer token
}


@dataclass(frozen=True)
class Page:
    """A server-rendered page or form endpoint: the roles each method is for (letters as in
    POLICY), how to build the object it names, and the form a POST sends."""

    get: str | None = None  # who may GET (role letters), None when the page has no GET
    post: str | None = None  # who may POST (role letters)
    kwarg: str = ""
    make: str = ""  # name of a maker below (object whose pk goes in the URL)
    form: tuple[tuple[str, str], ...] = ()


PAGES: dict[str, Page] = {
    "project-dashboard": Page(get="PEAV", kwarg="project_id", make="project"),
    "project-board": Page(get="PEAV", kwarg="project_id", make="project"),
    "project-members": Page(get="PEAV", kwarg="project_id", make="project"),
    "member-add": Page(
        post="P",
        kwarg="project_id",
        make="project",
        form=(("username", "outsider"), ("role", "viewer")),
    ),
    "song-create": Page(
        post="P", kwarg="project_id", make="project", form=(("title", "From the page"),)
    ),
    "task-create": Page(
        post="P",
        kwarg="project_id",
        make="project",
        form=(("song", "{song}"), ("title", "From the page")),
    ),
    "task-move": Page(
        post="PEA", kwarg="task_id", make="task", form=(("status", "doing"), ("rank", "0"))
    ),
    "member-role": Page(
        post="P", kwarg="membership_id", make="membership", form=(("role", "artist"),)
    ),
    "member-remove": Page(post="P", kwarg="membership_id", make="membership"),
    "task-delete": Page(post="P", kwarg="task_id", make="task"),
    "project-gates": Page(
        post="P", kwarg="project_id", make="project", form=(("gate_checks", "stems_uploaded"),)
    ),
    "project-invitations": Page(
        get="P",
        post="P",
        kwarg="project_id",
        make="project",
        form=(("email", "newcomer@example.test"), ("role", "engineer")),
    ),
    "invitation-revoke": Page(post="P", kwarg="invitation_id", make="invitation"),
    "song-detail": Page(get="PEAV", kwarg="song_id", make="song"),
    "song-move": Page(post="P", kwarg="song_id", make="song", form=(("to", "recording"),)),
    "credit-add": Page(
        post="PE",
        kwarg="song_id",
        make="song",
        form=(("role", "composer"), ("contributor_name", "A")),
    ),
    "credit-remove": Page(post="PE", kwarg="credit_id", make="credit"),
    "splits-set": Page(
        post="P",
        kwarg="song_id",
        make="song",
        form=(("party", "Label"), ("share", "100.00")),
    ),
    "splits-preview": Page(
        get="P", kwarg="song_id", make="song", form=(("party", "Label"), ("share", "50,5"))
    ),
    "sample-add": Page(
        post="P",
        kwarg="song_id",
        make="song",
        form=(("source_work", "Old tune"), ("kind", "sample")),
    ),
    "sample-update": Page(
        post="P", kwarg="sample_id", make="sample", form=(("clearance", "cleared"),)
    ),
    "song-audio": Page(get="PEAV", kwarg="song_id", make="song"),
    "song-mixer": Page(get="PEAV", kwarg="song_id", make="song"),
    "asset-preview": Page(get="PEAV", kwarg="asset_id", make="asset"),
    "mix-player": Page(get="PEAV", kwarg="mix_id", make="mix"),
    "mix-comments": Page(
        get="PEAV",
        post="PEA",
        kwarg="mix_id",
        make="mix",
        form=(("body", "From the page"), ("start", "0:00.1")),
    ),
    "mix-review": Page(
        get="PEAV", post="PA", kwarg="mix_id", make="mix", form=(("verdict", "approved"),)
    ),
    "comment-resolve": Page(post="PEA", kwarg="comment_id", make="comment"),
    "comment-reopen": Page(post="PEA", kwarg="comment_id", make="resolved_comment"),
    "comment-edit": Page(
        post="PEA", kwarg="comment_id", make="comment", form=(("body", "Edited"),)
    ),
    "comment-delete": Page(post="PEA", kwarg="comment_id", make="comment"),
    "project-downloads": Page(
        get="P",
        post="P",
        kwarg="project_id",
        make="project",
        form=(("viewers_may_download", "off"),),
    ),
    "project-update": Page(
        post="P", kwarg="project_id", make="project", form=(("name", "Renamed"),)
    ),
    "project-archive": Page(post="P", kwarg="project_id", make="project"),
    "project-unarchive": Page(post="P", kwarg="project_id", make="archived_project"),
    "project-delete": Page(post="P", kwarg="project_id", make="project"),
    "project-restore": Page(post="P", kwarg="project_id", make="deleted_project"),
    "song-archive": Page(post="P", kwarg="song_id", make="song"),
    "song-unarchive": Page(post="P", kwarg="song_id", make="archived_song"),
    "song-delete": Page(post="P", kwarg="song_id", make="song"),
    "song-restore": Page(post="P", kwarg="song_id", make="deleted_song"),
    "song-update": Page(
        post="P",
        kwarg="song_id",
        make="song",
        form=(("title", "Renamed"), ("key", "A minor"), ("tempo_bpm", "96")),
    ),
    "credit-update": Page(
        post="PE",
        kwarg="credit_id",
        make="credit",
        form=(("role", "lyricist"), ("contributor_name", "B")),
    ),
    "task-update": Page(
        post="P",
        kwarg="task_id",
        make="task",
        form=(("title", "Edited"), ("due_date", "2030-01-31")),
    ),
    "session-schedule": Page(
        post="PE",
        kwarg="song_id",
        make="song",
        form=(
            ("kind", "recording"),
            ("starts_at", "2030-01-31T10:00"),
            ("ends_at", "2030-01-31T13:00"),
        ),
    ),
    "session-update": Page(
        post="PE",
        kwarg="session_id",
        make="working_session",
        form=(("kind", "mix"), ("starts_at", "2030-02-01T10:00"), ("ends_at", "2030-02-01T12:00")),
    ),
    "session-cancel": Page(post="PE", kwarg="session_id", make="working_session"),
    "session-take-add": Page(
        post="PE",
        kwarg="session_id",
        make="session_and_take",
        form=(("take", "{obj.spare_take}"),),
    ),
    "session-take-remove": Page(
        post="PE",
        kwarg="session_id",
        make="session_with_take",
        form=(("take", "{obj.attached_take}"),),
    ),
    "take-keeper": Page(post="PE", kwarg="take_id", make="take", form=(("is_keeper", "1"),)),
    "song-master": Page(get="PEAV", kwarg="song_id", make="song"),
    "master-player": Page(get="PEAV", kwarg="master_id", make="master"),
    "master-review": Page(
        get="PEAV", post="PEA", kwarg="master_id", make="master", form=(("verdict", "approved"),)
    ),
    # delivery
    "release-list": Page(get="PEAV", kwarg="project_id", make="project"),
    "release-create": Page(
        post="P", kwarg="project_id", make="project", form=(("title", "EP"), ("artist", "Ava"))
    ),
    "release-detail": Page(get="PEAV", kwarg="release_id", make="release"),
    "release-update": Page(post="P", kwarg="release_id", make="release", form=(("label", "L"),)),
    "release-artwork": Page(post="P", kwarg="release_id", make="release"),
    "release-track-add": Page(
        post="P", kwarg="release_id", make="release", form=(("song", "{song}"),)
    ),
    "release-track-update": Page(
        post="P", kwarg="track_id", make="release_track", form=(("pregap_s", "3"),)
    ),
    "release-track-move": Page(
        post="P", kwarg="track_id", make="release_track", form=(("position", "1"),)
    ),
    "release-track-remove": Page(post="P", kwarg="track_id", make="release_track"),
    "release-songs-deliver": Page(post="P", kwarg="release_id", make="release"),
    # review links
    "review-links": Page(get="PE", kwarg="project_id", make="project"),
    "review-link-send": Page(
        post="PE",
        kwarg="project_id",
        make="project",
        form=(("recipient_name", "A&R"), ("recipient_email", "ar@example.test")),
    ),
    "review-link-revoke": Page(post="PE", kwarg="link_id", make="review_link"),
    "review-trace": Page(post="PE", kwarg="project_id", make="project"),
    "review-settings": Page(
        post="P", kwarg="project_id", make="project", form=(("stop_on_role_loss", "1"),)
    ),
    # the song sheet: producers and artists write it; a sample use is rights (producers)
    "song-sheet": Page(get="PEAV", kwarg="song_id", make="sheet_song"),
    "sheet-update": Page(
        post="PA",
        kwarg="song_id",
        make="sheet_song",
        form=(("genre", "synth-pop"), ("time_signature", "6/8"), ("first_downbeat_s", "0.5")),
    ),
    "section-add": Page(
        post="PA", kwarg="song_id", make="sheet_song", form=(("name", "chorus"), ("bars", "8"))
    ),
    "section-update": Page(
        post="PA", kwarg="section_id", make="section", form=(("lyrics", "Night drive"),)
    ),
    "section-move": Page(
        post="PA", kwarg="section_id", make="section", form=(("direction", "up"),)
    ),
    "section-remove": Page(post="PA", kwarg="section_id", make="section"),
    "palette-add": Page(post="PA", kwarg="song_id", make="sheet_song", form=(("name", "808"),)),
    "palette-update": Page(
        post="PA", kwarg="item_id", make="palette_item", form=(("status", "sourced"),)
    ),
    "palette-remove": Page(post="PA", kwarg="item_id", make="palette_item"),
    "influence-add": Page(
        post="PA",
        kwarg="song_id",
        make="sheet_song",
        form=(("work", "Teardrop"), ("taken", "feel")),
    ),
    "influence-remove": Page(post="PA", kwarg="influence_id", make="influence"),
    "influence-sample": Page(
        post="P", kwarg="influence_id", make="influence", form=(("kind", "interpolation"),)
    ),
    # rooms and equipment, the week calendar, one's own calendar feed
    "project-calendar": Page(get="PEAV", kwarg="project_id", make="project"),
    "calendar-feed": Page(get="PEAV", post="PEAV", kwarg="project_id", make="project"),
    "calendar-feed-revoke": Page(post="PEAV", kwarg="project_id", make="project"),
    "project-resources": Page(get="PEAV", kwarg="project_id", make="project"),
    "resource-create": Page(
        post="PE",
        kwarg="project_id",
        make="project",
        form=(("name", "Booth {song}"), ("kind", "room")),  # {song}: a fresh name each time
    ),
    "resource-update": Page(
        post="PE", kwarg="resource_id", make="resource", form=(("notes", "Bring cables"),)
    ),
    "resource-delete": Page(post="PE", kwarg="resource_id", make="resource"),
    "session-bookings": Page(get="PEAV", kwarg="session_id", make="working_session"),
    "booking-create": Page(
        post="PE", kwarg="session_id", make="bookable_session", form=(("resource", "{obj.room}"),)
    ),
    "booking-cancel": Page(post="PE", kwarg="booking_id", make="booking"),
    # time: the page, the card of the dashboard and the exports are read by all; producers,
    # engineers and artists log, and edit or delete their own entries
    "project-time": Page(get="PEAV", kwarg="project_id", make="project"),
    "time-over-budget": Page(get="PEAV", kwarg="project_id", make="project"),
    "time-entries-csv": Page(get="PEAV", kwarg="project_id", make="project"),
    "time-summary-csv": Page(get="PEAV", kwarg="project_id", make="project"),
    "time-log": Page(
        post="PEA",
        kwarg="project_id",
        make="time_project",
        form=(("against", "task:{obj.log_task}"), ("minutes", "45")),
    ),
    "time-entry-update": Page(
        post="PEA", kwarg="entry_id", make="time_entry", form=(("minutes", "40"),)
    ),
    "time-entry-delete": Page(post="PEA", kwarg="entry_id", make="time_entry"),
}


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    action: str
    view: Any  # the viewset class
    detail: bool

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.name} ({self.action})"

    @property
    def key(self) -> str:
        """Its row in POLICY."""
        return f"{self.method.upper()} {self.name}"


def walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, ns)
        else:
            yield namespace, pattern


def all_patterns() -> list[tuple[str, URLPattern]]:
    return [
        (ns, p) for ns, p in walk(get_resolver().url_patterns) if "format" not in str(p.pattern)
    ]


def viewset_routes() -> list[Route]:
    routes = []
    for namespace, pattern in all_patterns():
        cls = getattr(pattern.callback, "cls", None)
        actions = getattr(pattern.callback, "actions", None)
        if namespace or cls is None or not actions:
            continue
        detail = "pk" in str(pattern.pattern) or "upload_id" in str(pattern.pattern)
        for method, action in actions.items():
            routes.append(Route(pattern.name, method, action, cls, detail))
    return routes


def test_every_route_is_in_the_policy_table():
    """Every viewset action declares a capability (the permission class refuses one that does
    not), every route and method is in POLICY, PAGES or EXTRA_ROUTES, and the tables name no
    route that is gone."""
    undeclared, unlisted = [], []
    for namespace, pattern in all_patterns():
        if namespace == "admin:":
            continue  # Django admin: staff only, by Django itself
        cls = getattr(pattern.callback, "cls", None)
        actions = getattr(pattern.callback, "actions", None)
        if cls is not None and actions:
            declared = getattr(cls, "action_capabilities", {})
            undeclared += [f"{cls.__name__}.{a}" for a in actions.values() if a not in declared]
        elif pattern.name not in EXTRA_ROUTES and pattern.name not in PAGES:
            unlisted.append(f"{pattern.name or pattern.pattern}")
    routes = {route.key for route in ROUTES}
    unlisted += sorted(routes - set(POLICY))
    assert undeclared == []
    assert unlisted == [], "add these to POLICY (or PAGES / EXTRA_ROUTES) with who may use them"
    assert sorted(set(POLICY) - routes) == [], "POLICY lists routes that no longer exist"
    names = {pattern.name for _, pattern in all_patterns()}
    assert sorted((set(PAGES) | set(EXTRA_ROUTES)) - names) == []


def test_the_policy_table_is_well_formed():
    for key, who in POLICY.items():
        method, name = key.split(" ")
        assert method in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}, key
        assert who == SIGNED_IN or (who and set(who) <= set(ROLE_LETTERS)), key
    for name, page in PAGES.items():
        for who in (page.get, page.post):
            assert who is None or (who and set(who) <= set(ROLE_LETTERS)), name


# --- how to build an object for each viewset, and a valid request for each action ------------
# `make(scenario, actor)` builds the object a principal acts on; `actor` is that principal's user
# (None for anonymous), for objects only their owner may touch (comments, uploads).
def _song(s: Scenario, actor: Any = None) -> Any:
    from studio.services.songs import song_create

    return song_create(actor=s.users["producer"], project=s.project, title="Matrix song")


def _task(s: Scenario, actor: Any = None) -> Any:
    from studio.services.tasks import task_create

    return task_create(actor=s.users["producer"], song=_song(s), title="Matrix task")


def _credit(s: Scenario, actor: Any = None) -> Any:
    from studio.services.credits import credit_add

    return credit_add(
        actor=s.users["producer"], song=_song(s), role="composer", contributor_name="A"
    )


def _sample(s: Scenario, actor: Any = None) -> Any:
    from studio.services.rights import sample_use_add

    return sample_use_add(actor=s.users["producer"], song=_song(s), source_work="W", kind="sample")


def _archived_project(s: Scenario, actor: Any = None) -> Any:
    from studio.services.projects import project_archive

    s.project.refresh_from_db()
    if s.project.archived_at is None:
        project_archive(actor=s.users["producer"], project=s.project)
    return s.project


def _deleted_project(s: Scenario, actor: Any = None) -> Any:
    from studio.services.projects import project_delete

    s.project.refresh_from_db()
    if s.project.deleted_at is None:
        project_delete(actor=s.users["producer"], project=s.project)
    return s.project


def _archived_song(s: Scenario, actor: Any = None) -> Any:
    from studio.services.songs import song_archive

    return song_archive(actor=s.users["producer"], song=_song(s))


def _deleted_song(s: Scenario, actor: Any = None) -> Any:
    from studio.services.songs import song_delete

    return song_delete(actor=s.users["producer"], song=_song(s))


def _membership(s: Scenario, actor: Any = None) -> Any:
    return s.project.memberships.get(user=s.users["viewer"])


def _invitation(s: Scenario, actor: Any = None) -> Any:
    from studio.services.invitations import invitation_create

    return invitation_create(
        actor=s.users["producer"],
        project=s.project,
        email=f"guest{s.project.pk}@example.test",
        role="viewer",
        link_for=lambda token: f"http://testserver/invite/{token}/",
    )


def _maker(app: str, name: str, *, with_actor: bool = False) -> Callable[[Scenario, Any], Any]:
    """A maker of an app's own test module, `tests.<app>.authz` (imported when first used, so
    each app keeps its objects' recipes beside its tests)."""

    def make(s: Scenario, actor: Any = None) -> Any:
        made = getattr(importlib.import_module(f"tests.{app}.authz"), name)
        return made(s, actor) if with_actor else made(s)

    return make


def _reviewlinks_body() -> tuple[str, bytes]:
    from tests.reviewlinks import authz

    return authz.found_file_body()


def _artwork_body() -> tuple[str, bytes]:
    from tests.delivery import authz

    return authz.artwork_body()


def _may(s: Scenario, actor: Any, policy_key: str) -> bool:
    """Does POLICY let this principal do that (for objects only their owner may touch)?"""
    return any(s.users.get(role) == actor for role in roles(POLICY[policy_key]) if role in s.users)


def _comment(s: Scenario, actor: Any = None) -> Any:
    """Authored by the principal when they may comment (edit and delete are the author's)."""
    from sessions.services import comment_add

    author = (
        actor if actor is not None and _may(s, actor, "POST comment-list") else s.users["artist"]
    )
    return comment_add(
        actor=author, mix=_maker("audio", "_mix")(s), body="Matrix comment", start_s=0.1
    )


def _resolved_comment(s: Scenario, actor: Any = None) -> Any:
    from sessions.services import comment_resolve

    return comment_resolve(actor=s.users["producer"], comment=_comment(s, actor))


def _approval(s: Scenario, actor: Any = None) -> Any:
    from sessions.services import approval_give

    return approval_give(
        actor=s.users["artist"], mix=_maker("audio", "_mix")(s), verdict="approved"
    )


def _working_session(s: Scenario, actor: Any = None) -> Any:
    import datetime

    from django.utils import timezone

    from sessions.services import session_schedule

    start = timezone.now() + datetime.timedelta(days=1)
    return session_schedule(
        actor=s.users["producer"],
        song=_maker("audio", "_song")(s),
        kind="recording",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
    )


def _session_with_take(s: Scenario, actor: Any = None) -> Any:
    from sessions.services import session_add_take

    session = _working_session(s)
    return session_add_take(
        actor=s.users["producer"], session=session, take=_maker("audio", "_take")(s)
    )


def _session_and_take(s: Scenario, actor: Any = None) -> Any:
    """A session and a take of its song that is not attached yet (`spare_take`, its pk)."""
    session = _working_session(s)
    session.spare_take = _maker("audio", "_take")(s).pk
    return session


def _session_taken(s: Scenario, actor: Any = None) -> Any:
    """A session with one take attached (`attached_take`, its pk)."""
    session = _session_with_take(s)
    session.attached_take = session.takes.get().pk
    return session


def _upload(s: Scenario, actor: Any = None) -> Any:
    """An open tus upload of the principal's own when they may upload (uploads are private to
    their uploader), else the engineer's."""
    from audio.services.uploads import upload_create

    owner = (
        actor
        if actor is not None and _may(s, actor, "POST api-upload-list")
        else s.users["engineer"]
    )
    return upload_create(
        actor=owner, length=64, metadata={"filename": "m.wav", "project": str(s.project.pk)}
    )


def _held_upload(s: Scenario, actor: Any = None) -> Any:
    """An upload of the principal's own (as `_upload`) held as identical to Mix 1 of a song."""
    import io

    from audio.services.uploads import upload_create, upload_write
    from tests.audio.audiofiles import wav_bytes

    owner = (
        actor
        if actor is not None and _may(s, actor, "POST api-upload-list")
        else s.users["engineer"]
    )
    song = _song(s)
    data = wav_bytes(seconds=0.1, seed=7)
    meta = {"filename": "m.wav", "project": str(s.project.pk), "song": str(song.pk), "kind": "mix"}
    for _ in range(2):
        upload = upload_create(actor=owner, length=len(data), metadata=meta)
        upload = upload_write(
            actor=owner,
            upload_id=upload.pk,
            offset=0,
            content_length=len(data),
            read=io.BytesIO(data).read,
        )
    assert upload.state == "held", upload.state
    return upload


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


@dataclass
class Spec:
    make: Callable[[Scenario, Any], Any]
    bodies: dict[str, Callable[[Scenario, Any], dict[str, Any]]] = field(default_factory=dict)
    makers: dict[str, Callable[[Scenario, Any], Any]] = field(default_factory=dict)
    headers: dict[str, Callable[[Scenario, Any], dict[str, str]]] = field(default_factory=dict)
    raw: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # action -> (type, body)
    queries: dict[str, Callable[[Scenario, Any], str]] = field(default_factory=dict)
    kwarg: str = "pk"
    list_query: str = "?project={project}"
    outsider_list_status: int = 200
    paginated: bool = True
    denied_status: tuple[int, ...] = (403,)


def _song_id(s: Scenario, o: Any) -> int:
    return _song(s).pk


REGISTRY: dict[str, Spec] = {
    "ProjectViewSet": Spec(
        make=lambda s, a: s.project,
        makers={"unarchive": _archived_project, "restore": _deleted_project},
        bodies={
            "create": lambda s, o: {"name": "New"},
            "partial_update": lambda s, o: {"name": "Renamed"},
        },
    ),
    "MembershipViewSet": Spec(
        make=_membership,
        bodies={
            "create": lambda s, o: {
                "project": s.project.pk,
                "username": "outsider",
                "role": "viewer",
            },
            "partial_update": lambda s, o: {"role": "artist"},
        },
    ),
    "SongViewSet": Spec(
        make=_song,
        makers={"unarchive": _archived_song, "restore": _deleted_song},
        bodies={
            "create": lambda s, o: {"project": s.project.pk, "title": "New"},
            "partial_update": lambda s, o: {"title": "Renamed"},
            "move": lambda s, o: {"to": "recording"},
            "set_splits": lambda s, o: {
                "right": "master",
                "shares": [{"party": "A", "share": "100.00"}],
            },
        },
    ),
    "TaskViewSet": Spec(
        make=_task,
        bodies={
            "create": lambda s, o: {"song": o.song_id, "title": "New"},
            "partial_update": lambda s, o: {"title": "Renamed"},
            "move": lambda s, o: {"status": "doing", "rank": 0},
        },
    ),
    "CreditViewSet": Spec(
        make=_credit,
        bodies={
            "create": lambda s, o: {"song": o.song_id, "role": "lyricist", "contributor_name": "B"},
            "partial_update": lambda s, o: {"contributor_name": "C"},
        },
    ),
    "SampleUseViewSet": Spec(
        make=_sample,
        bodies={
            "create": lambda s, o: {"song": o.song_id, "source_work": "X", "kind": "sample"},
            "partial_update": lambda s, o: {"clearance": "cleared"},
        },
    ),
    # audio
    "AssetViewSet": Spec(make=_maker("audio", "_asset")),
    "StemViewSet": Spec(
        make=_maker("audio", "_stem"),
        bodies={
            "create": lambda s, o: {
                "song": _song_id(s, o),
                "asset": _maker("audio", "_asset")(s).pk,
                "instrument": "bass",
            }
        },
    ),
    "TakeViewSet": Spec(
        make=_maker("audio", "_take"),
        bodies={
            "create": lambda s, o: {
                "song": _song_id(s, o),
                "asset": _maker("audio", "_asset")(s).pk,
                "part": "gtr",
            },
            "partial_update": lambda s, o: {"notes": "Edited"},
        },
    ),
    "MixViewSet": Spec(
        make=_maker("audio", "_mix"),
        makers={
            action: _maker("audio", "_draft")
            for action in ("destroy", "spec", "spec_replace", "render", "preview")
        },
        bodies={
            "create": lambda s, o: {
                "song": _song_id(s, o),
                "asset": _maker("audio", "_asset")(s).pk,
                "note": "v",
            },
            "spec_replace": lambda s, o: o.spec,
            "preview": lambda s, o: {"start_s": 0, "end_s": 0.1},
        },
    ),
    "ReferenceViewSet": Spec(
        make=_maker("audio", "_reference"),
        bodies={
            "create": lambda s, o: {
                "song": o.song_id,
                "asset": _maker("audio", "_fresh_asset")(s).pk,
                "title": "A hit",
            }
        },
    ),
    "MasterViewSet": Spec(
        make=_maker("audio", "_master"),
        bodies={"create": lambda s, o: {"mix": o.mix_id, "preset": "spotify"}},
    ),
    "JobViewSet": Spec(make=_maker("audio", "_job")),
    "UploadViewSet": Spec(
        make=_upload,
        kwarg="upload_id",
        headers={
            "create": lambda s, o: {
                **TUS,
                "HTTP_UPLOAD_LENGTH": "64",
                "HTTP_UPLOAD_METADATA": f"filename {_b64('m.wav')},"
                f"project {_b64(str(s.project.pk))}",
            },
            "status": lambda s, o: TUS,
            "partial_update": lambda s, o: {**TUS, "HTTP_UPLOAD_OFFSET": "0"},
            "destroy": lambda s, o: TUS,
        },
        raw={"partial_update": ("application/offset+octet-stream", b"RIFF")},
        makers={"duplicate": _held_upload, "confirm": _held_upload, "cancel": _held_upload},
        denied_status=(403, 404),
    ),
    # live
    "CommentViewSet": Spec(
        make=_comment,
        makers={"reopen": _resolved_comment},
        bodies={
            "create": lambda s, o: {"mix": o.mix_id, "body": "Nice", "start_s": 0.05},
            "partial_update": lambda s, o: {"body": "Edited"},
        },
        list_query="?project={project}",
    ),
    "ApprovalViewSet": Spec(
        make=_approval,
        bodies={"create": lambda s, o: {"mix": o.mix_id, "verdict": "approved"}},
        queries={"state": lambda s, o: f"?mix={o.mix_id}"},
    ),
    "WorkingSessionViewSet": Spec(
        make=_working_session,
        bodies={
            "create": lambda s, o: {
                "song": o.song_id,
                "kind": "mix",
                "starts_at": "2030-01-01T10:00:00Z",
                "ends_at": "2030-01-01T12:00:00Z",
            },
            "partial_update": lambda s, o: {"notes": "Bring the Rhodes"},
            "add_take": lambda s, o: {"take": _maker("audio", "_take")(s).pk},
            "remove_take": lambda s, o: {"take": o.takes.get().pk},
        },
        makers={"remove_take": _session_with_take},
    ),
    "KeeperViewSet": Spec(
        make=_maker("audio", "_take"),
        bodies={"create": lambda s, o: {"take": o.pk, "is_keeper": True}},
    ),
    "PresenceViewSet": Spec(
        make=lambda s, a: s.project,
        outsider_list_status=404,
        paginated=False,
    ),
    # delivery
    "ReleaseViewSet": Spec(
        make=_maker("delivery", "_release"),
        bodies={
            "create": lambda s, o: {"project": s.project.pk, "title": "New", "artist": "Ava"},
            "partial_update": lambda s, o: {"label": "Demo Records"},
        },
        raw={"artwork": _artwork_body()},
        queries={"export": lambda s, o: "?as=csv"},
    ),
    "ReleaseTrackViewSet": Spec(
        make=_maker("delivery", "_track"),
        bodies={
            "create": lambda s, o: {
                "release": o.release_id,
                "song": _maker("delivery", "_song")(s).pk,
            },
            "partial_update": lambda s, o: {"pregap_s": 3, "isrc": f"USRC1760{o.pk:04d}"},
            "move": lambda s, o: {"position": 1},
        },
        list_query="",
    ),
    "DeliveryViewSet": Spec(make=_maker("delivery", "_delivery")),
    # review links
    "ReviewLinkViewSet": Spec(
        make=_maker("reviewlinks", "_review_link"),
        bodies={
            "create": lambda s, o: {
                "master": o.master_id,
                "recipient_name": "Press",
                "recipient_email": "press@example.test",
            }
        },
        outsider_list_status=404,
        paginated=False,
    ),
    # the song sheet
    "SongSheetViewSet": Spec(
        make=_maker("songsheet", "_song"),
        bodies={"update": lambda s, o: {"genre": "synth-pop", "time_signature": "6/8"}},
    ),
    "SectionViewSet": Spec(
        make=_maker("songsheet", "_section"),
        bodies={
            "create": lambda s, o: {"song": o.song_id, "name": "chorus", "bars": 8},
            "partial_update": lambda s, o: {"lyrics": "Night drive, night drive"},
            "move": lambda s, o: {"position": 1},
        },
    ),
    "PaletteItemViewSet": Spec(
        make=_maker("songsheet", "_palette_item"),
        bodies={
            "create": lambda s, o: {"song": o.song_id, "name": "808", "source": "sample library"},
            "partial_update": lambda s, o: {"status": "sourced"},
        },
    ),
    "InfluenceViewSet": Spec(
        make=_maker("songsheet", "_influence"),
        bodies={
            "create": lambda s, o: {"song": o.song_id, "work": "Teardrop", "taken": ["feel"]},
            "partial_update": lambda s, o: {"notes": "the bass line"},
            "record_sample": lambda s, o: {"kind": "interpolation", "clearance": "pending"},
        },
    ),
    # rooms and equipment
    "ResourceViewSet": Spec(
        make=_maker("bookings", "_resource"),
        bodies={
            "create": lambda s, o: {
                "project": s.project.pk,
                "name": f"Booth {o.pk}",
                "kind": "room",
            },
            "partial_update": lambda s, o: {"availability": "out_of_service"},
        },
    ),
    "BookingViewSet": Spec(
        make=_maker("bookings", "_booking"),
        bodies={
            "create": lambda s, o: {
                "resource": _maker("bookings", "_resource")(s).pk,
                "session": o.session_id,
            },
            "partial_update": lambda s, o: {"note": "Bring the Rhodes"},
        },
    ),
    # time
    "TimeEntryViewSet": Spec(
        make=_maker("timesheets", "_entry", with_actor=True),
        bodies={
            "create": lambda s, o: {"song": o.song_id, "task": o.task_id, "minutes": 30},
            "partial_update": lambda s, o: {"minutes": 45, "note": "edited"},
        },
    ),
    "TimeSummaryViewSet": Spec(make=lambda s, a: s.project),
    "LeakTraceViewSet": Spec(
        make=_maker("reviewlinks", "_leak_trace"),
        raw={"create": _reviewlinks_body()},
        queries={"create": lambda s, o: f"?project={s.project.pk}"},
        outsider_list_status=404,
        paginated=False,
    ),
}


def db_fingerprint() -> dict[str, str]:
    """A hash of every row of every project table, to prove denied writes change nothing."""
    tables = [
        m._meta.db_table
        for label in (
            "studio",
            "live",
            "audio",
            "delivery",
            "songsheet",
            "timesheets",
            "bookings",
            "auth",
            "authtoken",
        )
        for m in apps.get_app_config(label).get_models()
    ]
    existing = set(connection.introspection.table_names())
    tables = [t for t in tables if t in existing]
    out = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "  # noqa: S608
                f'FROM "{table}" t'
            )
            out[table] = cursor.fetchone()[0]
    return out


ROUTES = viewset_routes()


def _content(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"<stream>"
    return response.content[:200]


def _rows(response: Any, paginated: bool) -> list[Any]:
    data = response.json()
    return data["results"] if paginated else data


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
def test_route_follows_policy(
    route: Route, scenario: Scenario, other_scenario: Scenario, settings: Any
):
    settings.UPLOAD_MAX_CONCURRENT_PER_USER = 100  # each principal opens its own upload here
    name = route.view.__name__
    if name not in REGISTRY:
        pytest.fail(f"{name} has no entry in the authorization REGISTRY")
    spec = REGISTRY[name]
    if route.key not in POLICY:
        pytest.fail(f"{route.key} is not in POLICY")
    open_to_all = POLICY[route.key] == SIGNED_IN
    allowed_roles = roles(POLICY[route.key])
    for principal in PRINCIPALS:
        actor = None if principal == "anonymous" else scenario.users[principal]
        obj = spec.makers.get(route.action, spec.make)(scenario, actor)
        kwargs = {spec.kwarg: getattr(obj, "pk", None)} if route.detail else {}
        if spec.kwarg != "pk" and route.detail:
            kwargs = {spec.kwarg: obj.pk}
        url = reverse(route.name, kwargs=kwargs)
        if route.action == "list":
            url += spec.list_query.format(project=scenario.project.pk)
        client = scenario.client(None if principal == "anonymous" else principal)
        if route.action in spec.queries:
            url += spec.queries[route.action](scenario, obj)
        headers = spec.headers.get(route.action, lambda s, o: {})(scenario, obj)
        body = spec.bodies.get(route.action, lambda s, o: {})(scenario, obj)
        before = db_fingerprint() if route.method in UNSAFE else None
        if route.action in spec.raw:
            content_type, data = spec.raw[route.action]
            response = client.generic(
                route.method.upper(), url, data, content_type=content_type, **headers
            )
        else:
            response = getattr(client, route.method)(url, body, format="json", **headers)
        status = response.status_code
        where = f"{route.id} as {principal}: {status} {_content(response)!r}"
        assert status < 500, where
        if principal == "anonymous":
            assert status == 401, where
        elif principal == "outsider":
            if route.action == "list":
                assert status == spec.outsider_list_status, where
                if status == 200:
                    assert _rows(response, spec.paginated) == [], where
            elif open_to_all:
                assert 200 <= status < 300, where
            elif route.action == "create":
                assert status in (400, 404), where
            else:
                assert status == 404, where
        elif principal in allowed_roles:
            assert 200 <= status < 300, where
        else:
            assert status in spec.denied_status, where
            if route.method != "head":
                assert response.json()["code"], where
        denied = principal not in allowed_roles or principal == "outsider"
        if before is not None and denied and not open_to_all:
            assert db_fingerprint() == before, f"{where}: a denied write changed the database"
        if principal == "outsider" and route.action == "list" and spec.paginated:
            # the unfiltered list holds none of the project's rows either
            rows = _rows(scenario.client("outsider").get(reverse(route.name)), True)
            assert all(row.get("project") != scenario.project.pk for row in rows), where


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", sorted(n for n, p in EXTRA_ROUTES.items() if p in ("public", "signed-in"))
)
def test_plain_routes(name: str, scenario: Scenario, client):
    url = reverse(name)
    posts = {"api-token": {}, "logout": {}, "project-create": {"name": "Second album"}}
    method = client.post if name in posts else client.get
    response = method(url, posts.get(name, {}))
    assert response.status_code < 500
    if EXTRA_ROUTES[name] == "signed-in":
        assert response.status_code == 302 and "/login/" in response["Location"]
        client.force_login(scenario.users["viewer"])
        assert method(url, posts.get(name, {})).status_code in (200, 302)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(n for n, p in EXTRA_ROUTES.items() if p == "api-signed-in"))
def test_own_profile_api_routes(name: str, scenario: Scenario):
    """Anonymous gets 401; every signed-in principal, member or not, reads and changes only their
    own profile."""
    url = reverse(name)
    anonymous = scenario.client(None)
    assert anonymous.get(url).status_code == 401
    assert anonymous.patch(url, {"display_name": "x"}, format="json").status_code == 401
    for principal in PRINCIPALS[1:]:
        client = scenario.client(principal)
        assert client.get(url).json()["id"] == scenario.users[principal].pk
        response = client.patch(url, {"display_name": principal.title()}, format="json")
        assert response.status_code == 200, response.content
    for principal in PRINCIPALS[1:]:
        scenario.users[principal].refresh_from_db()
        assert scenario.users[principal].first_name == principal.title()


@pytest.mark.django_db
def test_own_notification_routes(scenario: Scenario, song: Any):
    """Every principal reads and marks only their own notifications: anonymous gets 401 (API) or
    the sign-in page, anyone else's notification is a 404 and stays unread, and the outsider,
    told nothing, has an empty inbox."""
    from notifications.models import Notification
    from studio.services.songs import song_move_stage

    song_move_stage(actor=scenario.users["producer"], song=song, to="recording")
    own = sorted(n for n, p in EXTRA_ROUTES.items() if p == "own")
    mine = {
        who: Notification.objects.filter(recipient=scenario.users[who]).first()
        for who in PRINCIPALS[1:]
    }
    someone_elses = mine["artist"]
    exercised: set[str] = set()

    def url(name: str, notification: Any) -> str:
        exercised.add(name)
        if name in ("inbox-read", "api-notification-detail", "api-notification-read"):
            return reverse(
                name,
                kwargs={"notification_id" if name == "inbox-read" else "pk": (notification.pk)},
            )
        if name == "api-notification-preference":
            return reverse(name, kwargs={"kind": "stage"})
        return reverse(name)

    anonymous = scenario.client(None)
    for name in own:
        target = url(name, someone_elses)
        method = (
            "get"
            if name
            in ("api-notification-list", "api-notification-preferences", "api-notification-detail")
            else "post"
        )
        response = getattr(anonymous, method)(target)
        if name.startswith("api-"):
            assert response.status_code == 401, name
        else:
            assert response.status_code == 302 and "/login/" in response["Location"], name
    for who in PRINCIPALS[1:]:
        api, browser = scenario.client(who), scenario.browser(who)
        listed = api.get(url("api-notification-list", None)).json()["results"]
        assert [row["id"] for row in listed] == ([mine[who].pk] if mine[who] else []), who
        assert api.get(url("api-notification-preferences", None)).status_code == 200
        r = api.patch(url("api-notification-preference", None), {"email": True}, format="json")
        assert r.status_code == 200, who
        if who != "artist":
            for name in ("api-notification-detail", "api-notification-read"):
                method = api.get if name == "api-notification-detail" else api.post
                assert method(url(name, someone_elses)).status_code == 404, (who, name)
            assert browser.post(url("inbox-read", someone_elses)).status_code == 404, who
        if mine[who] is not None:
            assert api.get(url("api-notification-detail", mine[who])).status_code == 200
            assert api.post(url("api-notification-read", mine[who])).status_code == 200
            assert browser.post(url("inbox-read", mine[who])).status_code == 302
        assert api.post(url("api-notification-read-all", None)).status_code == 200
        assert browser.post(url("inbox-read-all", None)).status_code == 302
        assert browser.post(url("inbox-preferences", None), {}).status_code == 302
        if who == "viewer":
            someone_elses.refresh_from_db()
            assert someone_elses.read_at is None, "another person's read-all touched it"
    assert exercised == set(own)


PAGE_MAKERS: dict[str, Callable[[Scenario, Any], Any]] = {
    "project": lambda s, a: s.project,
    "archived_project": _archived_project,
    "deleted_project": _deleted_project,
    "song": _song,
    "archived_song": _archived_song,
    "deleted_song": _deleted_song,
    "task": _task,
    "membership": _membership,
    "invitation": _invitation,
    "credit": _credit,
    "sample": _sample,
    "asset": _maker("audio", "_asset"),
    "mix": _maker("audio", "_mix"),
    "comment": _comment,
    "resolved_comment": _resolved_comment,
    "working_session": _working_session,
    "session_and_take": _session_and_take,
    "session_with_take": _session_taken,
    "take": _maker("audio", "_take"),
    "master": _maker("audio", "_master"),
    "release": _maker("delivery", "_release"),
    "release_track": _maker("delivery", "_track"),
    "review_link": _maker("reviewlinks", "_review_link"),
    "sheet_song": _maker("songsheet", "_song"),
    "section": _maker("songsheet", "_section"),
    "palette_item": _maker("songsheet", "_palette_item"),
    "influence": _maker("songsheet", "_influence"),
    "resource": _maker("bookings", "_resource"),
    "booking": _maker("bookings", "_booking"),
    "bookable_session": _maker("bookings", "_bookable_session"),
    "time_project": _maker("timesheets", "_project_with_task", with_actor=True),
    "time_entry": _maker("timesheets", "_entry", with_actor=True),
}
PAGE_CASES = [
    (name, method)
    for name, page in PAGES.items()
    for method in ("get", "post")
    if getattr(page, method)
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "method"), PAGE_CASES, ids=[f"{m.upper()} {n}" for n, m in PAGE_CASES]
)
def test_page_follows_policy(
    name: str, method: str, scenario: Scenario, other_scenario: Any, client: Any
):
    """Pages: anonymous -> the login page; outsider -> 404; a member without the capability
    -> 403 with nothing changed; a member with it -> a page (2xx) or a redirect (3xx)."""
    page = PAGES[name]
    allowed_roles = roles(getattr(page, method))
    for principal in PRINCIPALS:
        actor = None if principal == "anonymous" else scenario.users[principal]
        obj = PAGE_MAKERS[page.make](scenario, actor)
        kwargs = {page.kwarg: obj.pk}
        if name in ("splits-set", "splits-preview"):
            kwargs["right"] = "master"
        url = reverse(name, kwargs=kwargs)
        # (only when the form names a song: an archived or deleted project takes no new song)
        song = _song(scenario) if any("{song}" in v for _, v in page.form) else None
        form = {k: v.format(song=getattr(song, "pk", None), obj=obj) for k, v in page.form}
        client.logout()
        if actor is not None:
            client.force_login(actor)
        before = db_fingerprint() if method == "post" else None
        response = getattr(client, method)(url, form)
        status = response.status_code
        where = f"{method.upper()} {name} as {principal}: {status}"
        assert status < 500, where
        if principal == "anonymous":
            assert status == 302 and "/login/" in response["Location"], where
        elif principal == "outsider":
            assert status == 404, where
        elif principal in allowed_roles:
            assert status < 400, where
        else:
            assert status == 403, where
        denied = principal not in allowed_roles or principal == "outsider"
        if before is not None and denied:
            assert db_fingerprint() == before, f"{where}: a denied write changed the database"
