"""Roles and the capability table: who may do what in a project, written down once.

Views, serializers and consumers ask `role_can(role, capability)`; they never list roles themselves.
"""

from django.db import models


class Role(models.TextChoices):
    PRODUCER = "producer", "Producer"
    ENGINEER = "engineer", "Engineer"
    ARTIST = "artist", "Artist"
    VIEWER = "viewer", "Viewer"


class Capability(models.TextChoices):
    VIEW = "view", "read anything in the project"
    MEMBERS_MANAGE = "members.manage", "add, re-role and remove members"
    PROJECT_EDIT = "project.edit", "rename the project"
    LIFECYCLE = "lifecycle", "archive, delete and restore the project and its songs"
    SONG_EDIT = "song.edit", "create, rename and delete songs"
    SONG_MOVE = "song.move", "move songs between stages"
    TASK_EDIT = "task.edit", "create, assign, edit and delete tasks"
    TASK_MOVE = "task.move", "change a task's status and rank on the board"
    CREDIT_EDIT = "credit.edit", "edit credits"
    RIGHTS_EDIT = "rights.edit", "edit splits and sample uses"
    ASSET_UPLOAD = "asset.upload", "upload stems, takes and mixes"
    MIX_EDIT = "mix.edit", "create mix versions and run jobs"
    COMMENT = "comment", "comment on versions"
    MIX_APPROVE = "mix.approve", "approve a mix or request changes"
    MASTER_APPROVE = "master.approve", "approve a master or request changes"
    SESSION_EDIT = "session.edit", "schedule working sessions and mark keeper takes"
    RELEASE_EDIT = "release.edit", "create, sequence and edit releases and their ISRCs"
    RELEASE_DELIVER = "release.deliver", "deliver a release (run its deliver job)"
    REVIEW_LINK_SEND = "review_link.send", "send, revoke and trace review links"
    RESOURCE_EDIT = "resource.edit", "manage the rooms and equipment of the project"
    SHEET_EDIT = "sheet.edit", "edit the song sheet (sections, lyrics, palette, influences)"
    TIME_LOG = "time.log", "log time spent, and edit or delete one's own entries"
    TIME_MANAGE = "time.manage", "delete anyone's time entries"


P, E, A, V = Role.PRODUCER, Role.ENGINEER, Role.ARTIST, Role.VIEWER

CAPABILITIES: dict[str, frozenset[str]] = {
    Capability.VIEW: frozenset({P, E, A, V}),
    Capability.MEMBERS_MANAGE: frozenset({P}),
    Capability.PROJECT_EDIT: frozenset({P}),
    Capability.LIFECYCLE: frozenset({P}),
    Capability.SONG_EDIT: frozenset({P}),
    Capability.SONG_MOVE: frozenset({P}),
    Capability.TASK_EDIT: frozenset({P}),
    Capability.TASK_MOVE: frozenset({P, E, A}),
    Capability.CREDIT_EDIT: frozenset({P, E}),
    Capability.RIGHTS_EDIT: frozenset({P}),
    Capability.ASSET_UPLOAD: frozenset({P, E}),
    Capability.MIX_EDIT: frozenset({P, E}),
    Capability.COMMENT: frozenset({P, E, A}),
    Capability.MIX_APPROVE: frozenset({P, A}),
    Capability.MASTER_APPROVE: frozenset({P, E, A}),
    Capability.SESSION_EDIT: frozenset({P, E}),
    Capability.RELEASE_EDIT: frozenset({P}),
    Capability.RELEASE_DELIVER: frozenset({P, E}),
    Capability.REVIEW_LINK_SEND: frozenset({P, E}),
    Capability.RESOURCE_EDIT: frozenset({P, E}),
    Capability.SHEET_EDIT: frozenset({P, A}),
    Capability.TIME_LOG: frozenset({P, E, A}),
    Capability.TIME_MANAGE: frozenset({P}),
}


# What a member may still do in an archived project or song: read it, manage who is in it, and
# unarchive or delete it. Every other capability is a write that an archive refuses.
ARCHIVE_ALLOWS = frozenset({Capability.VIEW, Capability.MEMBERS_MANAGE, Capability.LIFECYCLE})


def role_can(role: str | None, capability: str) -> bool:
    """True when a member with `role` holds `capability`. A non-member (None) holds nothing."""
    return role is not None and role in CAPABILITIES[capability]


def roles_with(capability: str) -> frozenset[str]:
    return CAPABILITIES[capability]
