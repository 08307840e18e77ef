"""The websocket protocol of /ws/projects/<id>/?after=<seq>&epoch=<epoch>, as types.

Server -> client, in this order on connect:
  1. HelloFrame                      always first
  2. ResyncFrame                     when `after`/`epoch` cannot be honoured (then go to 4)
  3. EventFrame ...                  the replay of seq after+1 .. last_seq from the database
  4. EventFrame | EphemeralFrame     live; events strictly increasing by seq, never doubled

Client -> server: PresenceIn (which song or mix the user is looking at).

Close codes: 4400 bad query, 4401 not signed in, 4404 not a member / unknown project,
4403 removed from the project while connected. A foreign Origin is refused at the handshake.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

PROTOCOL_VERSION = 2  # 2: presence frames carry a batch of users (PresencePayload)

CLOSE_BAD_REQUEST = 4400
CLOSE_NO_SESSION = 4401
CLOSE_REMOVED = 4403
CLOSE_NOT_MEMBER = 4404


class Actor(TypedDict):
    id: int
    username: str


class HelloFrame(TypedDict):
    type: Literal["hello"]
    epoch: str
    last_seq: int
    project: int
    version: int


class ResyncFrame(TypedDict):
    """`reason`: "epoch" (the log was replaced, e.g. a restored database), "ahead" (after >
    last_seq), "pruned" (after is older than what is kept), "too_far_behind" (more missed
    events than the replay limit). The client refetches its snapshot; live events continue
    after `last_seq`."""

    type: Literal["resync"]
    reason: Literal["epoch", "ahead", "pruned", "too_far_behind"]
    epoch: str
    last_seq: int


class EventFrame(TypedDict):
    """A durable event (eventlog.models.Event.to_frame()); payload schemas: eventlog.schemas."""

    seq: int
    type: str
    payload: dict[str, Any]
    actor: Actor | None
    at: str


class JobProgressPayload(TypedDict):
    job: int
    kind: str
    progress: float


class JobProgressFrame(TypedDict):
    type: Literal["job.progress"]
    payload: JobProgressPayload


class PresenceUser(TypedDict):
    user: Actor
    song: int | None
    mix: int | None
    state: Literal["online", "offline"]


class PresencePayload(TypedDict):
    """`full`: the whole roster (sent to one socket when it connects; whoever is not listed is
    offline); otherwise only the users whose presence changed, batched per
    sessions.presence_batch.PRESENCE_BATCH_S. `at`: when the shared store was read (seconds since
    the epoch), so a client keeps the newer of two states of one user."""

    full: bool
    at: float
    users: list[PresenceUser]


class PresenceFrame(TypedDict):
    type: Literal["presence"]
    payload: PresencePayload


EphemeralFrame = JobProgressFrame | PresenceFrame
ServerFrame = HelloFrame | ResyncFrame | EventFrame | EphemeralFrame


class PresenceIn(TypedDict):
    type: Literal["presence"]
    song: NotRequired[int | None]
    mix: NotRequired[int | None]


ClientFrame = PresenceIn
