"""Every write of review links: send (which queues the link's `watermark` job), revoke, the
accesses and comments that arrive through a link, and a leak trace (which queues `wmtrace`).
One transaction each, under the project lock, with its Event.

Rules, once:
- Only the token's SHA-256 is stored; the token (256 bits from `secrets`) is handed back once,
  to the sender. A link is found by the hash of what its holder presents, and the hashes are
  compared again with `hmac.compare_digest`.
- A link works while it is not revoked, not expired, its project is not deleted and (when the
  project's `stop_on_role_loss` is on, the default) its sender still holds
  `review_link.send` in the project. Whatever the reason, a link that does not work is the same
  NotFound, so a holder learns nothing about why or whether it existed.
- The link serves its own watermarked copy only; until the job made it the link is preparing.
- Sending e-mails the link to the recipient once the link is committed (Django's e-mail
  framework). The default backend prints e-mails on the console: that is for development only
  (the console then shows the link); production sets EMAIL_BACKEND to SMTP. A failed send is
  logged with the link's id, never its token.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from audio.models import AssetKind, Master, Mix
from audio.services import jobs
from audio.services.assets import stored_file_create
from eventlog.services import event_record, project_lock
from reviewlinks.jobs import TRACE_KIND, WATERMARK_KIND
from reviewlinks.models import (
    AccessKind,
    LeakTrace,
    ReviewAccess,
    ReviewComment,
    ReviewLink,
    ReviewSettings,
)
from reviewlinks.payloads import comment_payload, link_payload, trace_payload
from studio.errors import Conflict, Invalid, NotFound
from studio.models import Project
from studio.roles import Capability, role_can
from studio.selectors import member_role, require_capability

TOKEN_BYTES = 32  # 256 bits
WATERMARK_ID_MAX = 2**32 - 1
MAX_NOTE = 2000
MAX_COMMENT = 2000
MAX_EXPIRY_DAYS = 365
TRACE_MAX_BYTES = 500 * 1024 * 1024
OPENED_QUIET_S = 300
_log = logging.getLogger(__name__)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def settings_for(project_id: int) -> ReviewSettings:
    """The project's review settings, made with a fresh 256-bit watermark key on first use."""
    row = ReviewSettings.objects.filter(project_id=project_id).first()
    if row is not None:
        return row
    row, _ = ReviewSettings.objects.get_or_create(
        project_id=project_id, defaults={"watermark_key": secrets.token_urlsafe(32)}
    )
    return row


def _new_watermark_id(project_id: int) -> int:
    used = set(
        ReviewLink.objects.filter(project_id=project_id).values_list("watermark_id", flat=True)
    )
    while True:
        candidate = secrets.randbelow(WATERMARK_ID_MAX) + 1
        if candidate not in used:
            return candidate


def _text(
    fields: dict[str, list[str]], name: str, value: Any, limit: int, *, required: bool
) -> str:
    text = str(value if value is not None else "").strip()
    if required and not text:
        fields[name] = ["this field is required"]
    elif len(text) > limit:
        fields[name] = [f"at most {limit} characters"]
    return text


def link_create(
    *,
    actor: Any,
    mix: Mix | None = None,
    master: Master | None = None,
    recipient_name: str,
    recipient_email: str,
    note: str = "",
    expires_at: datetime.datetime | None = None,
    download_allowed: bool = False,
    play_limit: int | None = None,
    link_for: Callable[[str], str] | None = None,
) -> tuple[ReviewLink, str]:
    """Send one version to one recipient: (link, token). The token is shown once, never kept,
    and e-mailed to the recipient as ``link_for(token)`` (an absolute URL; by default under
    STUDIO_BASE_URL) once the link is committed."""
    if (mix is None) == (master is None):
        raise Invalid("send a mix or a master", fields={"version": ["give a mix or a master"]})
    version: Mix | Master = mix if mix is not None else master  # type: ignore[assignment]
    require_capability(
        user=actor,
        project_id=version.project_id,
        capability=Capability.REVIEW_LINK_SEND,
        song_id=version.song_id,
    )
    fields: dict[str, list[str]] = {}
    name = _text(fields, "recipient_name", recipient_name, 120, required=True)
    email = _text(fields, "recipient_email", recipient_email, 254, required=True)
    if email and "@" not in email:
        fields["recipient_email"] = ["enter an e-mail address"]
    note_text = _text(fields, "note", note, MAX_NOTE, required=False)
    now = timezone.now()
    if expires_at is not None:
        if expires_at <= now:
            fields["expires_at"] = ["must be in the future"]
        elif expires_at > now + datetime.timedelta(days=MAX_EXPIRY_DAYS):
            fields["expires_at"] = [f"at most {MAX_EXPIRY_DAYS} days ahead"]
    if play_limit is not None and not 1 <= play_limit <= 1000:
        fields["play_limit"] = ["between 1 and 1000, or empty for no limit"]
    if version.asset_id is None:
        fields["version"] = ["this version has no audio yet"]
    if fields:
        raise Invalid(next(iter(fields.values()))[0], fields=fields)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        project_lock(version.project_id)
        settings_for(version.project_id)
        link = ReviewLink.objects.create(
            project_id=version.project_id,
            mix=mix,
            master=master,
            recipient_name=name,
            recipient_email=email,
            note=note_text,
            token_sha256=token_sha256(token),
            watermark_id=_new_watermark_id(version.project_id),
            download_allowed=bool(download_allowed),
            play_limit=play_limit,
            created_by=actor,
            expires_at=expires_at,
        )
        job = jobs.job_create(
            actor=actor,
            project=version.project_id,
            kind=WATERMARK_KIND,
            params={"link_id": link.pk},
        )
        link.job = job
        link.save(update_fields=["job"])
        event_record(
            project=version.project_id,
            type="review_link.created",
            payload={"link": link_payload(link), "job": job.pk},
            actor=actor,
        )
        url = link_for(token) if link_for else f"{settings.STUDIO_BASE_URL.rstrip('/')}/r/#{token}"
        sender = actor.get_full_name() or actor.get_username()
        title = version.song.title
        transaction.on_commit(lambda: _email_link(link, url, sender, title))
    return link, token


def _email_link(link: ReviewLink, url: str, sender: str, song: str) -> None:
    """The recipient's e-mail with their link; a failure is logged without the link itself."""
    lines = [
        f'{sender} sent you {link.version_label} of "{song}" to listen to on Studio.',
        "",
        f"Open your private link (it is yours alone; please do not pass it on):\n\n{url}",
    ]
    if link.note:
        lines += ["", f"Their note: {link.note}"]
    if link.expires_at:
        lines += ["", f"The link works until {link.expires_at:%d %b %Y, %H:%M} UTC."]
    try:
        send_mail(
            subject=f'{sender} sent you "{song}" to review',
            message="\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[link.recipient_email],
        )
    except Exception as exc:  # the link works; the sender still has it to pass on
        _log.warning("review link %s: the e-mail was not sent (%s)", link.pk, type(exc).__name__)


def link_revoke(*, actor: Any, link: ReviewLink) -> ReviewLink:
    """Revoke at once: the next request through the link is refused. Again is a no-op."""
    require_capability(
        user=actor, project_id=link.project_id, capability=Capability.REVIEW_LINK_SEND
    )
    with transaction.atomic():
        project_lock(link.project_id)
        link.refresh_from_db()
        if link.revoked_at is None:
            link.revoked_at = timezone.now()
            link.save(update_fields=["revoked_at"])
            event_record(
                project=link.project_id,
                type="review_link.revoked",
                payload={"link": link_payload(link)},
                actor=actor,
            )
    return link


def settings_update(*, actor: Any, project: Project, stop_on_role_loss: bool) -> ReviewSettings:
    require_capability(user=actor, project_id=project.pk, capability=Capability.MEMBERS_MANAGE)
    with transaction.atomic():
        project_lock(project.pk)
        row = settings_for(project.pk)
        row.stop_on_role_loss = bool(stop_on_role_loss)
        row.save(update_fields=["stop_on_role_loss"])
        event_record(
            project=project.pk,
            type="review_settings.changed",
            payload={"project": project.pk, "stop_on_role_loss": row.stop_on_role_loss},
            actor=actor,
        )
    return row


# --- through the link ---------------------------------------------------------------------------


def link_usable(link: ReviewLink) -> bool:
    if link.revoked_at is not None:
        return False
    if link.expires_at is not None and link.expires_at <= timezone.now():
        return False
    if link.project.deleted_at is not None:
        return False
    version = link.master if link.master_id else link.mix
    if version is None or version.song.deleted_at is not None:
        return False
    rules = ReviewSettings.objects.filter(project_id=link.project_id).first()
    if rules is None or rules.stop_on_role_loss:
        if link.created_by is None:
            return False
        role = member_role(user=link.created_by, project_id=link.project_id)
        if not role_can(role, Capability.REVIEW_LINK_SEND):
            return False
    return True


def link_for_token(token: str) -> ReviewLink:
    """The working link this token opens, or NotFound (unknown, revoked, expired, sender lost
    the role: one answer)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise NotFound("this link does not work")
    digest = token_sha256(token)
    link = (
        ReviewLink.objects.select_related(
            "project", "mix__song", "master__song", "created_by", "marked_asset"
        )
        .filter(token_sha256=digest)
        .first()
    )
    if link is None or not hmac.compare_digest(link.token_sha256, digest):
        raise NotFound("this link does not work")
    if not link_usable(link):
        raise NotFound("this link does not work")
    return link


def plays(link: ReviewLink) -> int:
    return ReviewAccess.objects.filter(link=link, kind=AccessKind.PLAY).count()


def plays_left(link: ReviewLink) -> int | None:
    return None if link.play_limit is None else max(0, link.play_limit - plays(link))


def access_record(
    *, link: ReviewLink, kind: str, position_s: float | None = None, address: str = ""
) -> ReviewAccess:
    """Log one access. A play and a listening report are events too (the team sees them
    live), and so is an opening unless the link was opened in the last OPENED_QUIET_S (a page
    that waits for its copy reloads itself); media requests are logged rows only (a player
    sends many)."""
    if kind not in AccessKind.values:
        raise Invalid("unknown access", fields={"kind": list(AccessKind.values)})
    if position_s is not None and not (0.0 <= position_s <= 24 * 3600):
        raise Invalid("position out of range", fields={"position": ["0 to 86400 seconds"]})
    told = kind in (AccessKind.PLAY, AccessKind.PROGRESS)
    if kind == AccessKind.OPENED:
        since = timezone.now() - datetime.timedelta(seconds=OPENED_QUIET_S)
        told = not ReviewAccess.objects.filter(link=link, kind=kind, at__gte=since).exists()
    with transaction.atomic():
        if told:
            project_lock(link.project_id)
        access = ReviewAccess.objects.create(
            link=link, kind=kind, position_s=position_s, address=address[:64]
        )
        if told:
            event_record(
                project=link.project_id,
                type="review_link.accessed",
                payload={"link": link_payload(link), "kind": kind, "position_s": position_s},
                actor=None,
            )
    return access


def comment_add(*, link: ReviewLink, body: str, start_s: float) -> ReviewComment:
    """A comment under the recipient's name, marked as from outside; the team hears it live."""
    fields: dict[str, list[str]] = {}
    text = _text(fields, "body", body, MAX_COMMENT, required=True)
    if not isinstance(start_s, int | float) or not 0.0 <= float(start_s) <= 24 * 3600:
        fields["start"] = ["a time from 0:00 on"]
    if fields:
        raise Invalid(next(iter(fields.values()))[0], fields=fields)
    version = link.mix or link.master
    if link.project.archived_at is not None or (version and version.song.archived_at is not None):
        # The team's own comments stop there too: an archived song is read-only.
        raise Conflict("This song is archived: comments are closed", code="archived")
    with transaction.atomic():
        project_lock(link.project_id)
        comment = ReviewComment.objects.create(
            link=link, author_name=link.recipient_name, body=text, start_s=float(start_s)
        )
        event_record(
            project=link.project_id,
            type="review_link.commented",
            payload={"link": link_payload(link), "comment": comment_payload(comment)},
            actor=None,
        )
    return comment


# --- tracing a leak -------------------------------------------------------------------------------


def trace_start(*, actor: Any, project: Project, path: Path, name: str = "") -> LeakTrace:
    """Store a file found in the wild and queue the job that looks for the mark in it."""
    require_capability(user=actor, project_id=project.pk, capability=Capability.REVIEW_LINK_SEND)
    if path.stat().st_size > TRACE_MAX_BYTES:
        raise Invalid("the file is too large", fields={"file": ["at most 500 MB"]})
    asset, _ = stored_file_create(
        project=project,
        kind=AssetKind.OTHER,
        media_type="application/octet-stream",
        path_or_bytes=path,
        name=(name or "found file")[:200],
        actor=actor,
    )
    with transaction.atomic():
        project_lock(project.pk)
        settings_for(project.pk)
        trace = LeakTrace.objects.create(project=project, asset=asset, created_by=actor)
        job = jobs.job_create(
            actor=actor, project=project.pk, kind=TRACE_KIND, params={"trace_id": trace.pk}
        )
        trace.job = job
        trace.save(update_fields=["job"])
        event_record(
            project=project.pk,
            type="leak_trace.started",
            payload={"trace": trace_payload(trace), "job": job.pk},
            actor=actor,
        )
    return trace
