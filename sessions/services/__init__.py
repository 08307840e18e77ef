"""The review layer's rules: comments, approvals, working sessions and keeper takes, one module
each.

Every write runs in one transaction that records an Event (eventlog.services.event_record). Role
checks use the capability table (studio.roles); the checks here are the resource-level ones the
API relies on. Errors are studio.errors (400/403/404/409) with a sentence that says why. Callers
use `from sessions import services` and the names below.
"""

from sessions.services.approvals import ApprovalState, approval_give, approval_state
from sessions.services.comments import (
    comment_add,
    comment_delete,
    comment_edit,
    comment_reopen,
    comment_resolve,
)
from sessions.services.keepers import keeper_payload, take_set_keeper
from sessions.services.working_sessions import (
    session_add_take,
    session_delete,
    session_remove_take,
    session_schedule,
    session_update,
)

__all__ = [
    "ApprovalState",
    "approval_give",
    "approval_state",
    "comment_add",
    "comment_delete",
    "comment_edit",
    "comment_reopen",
    "comment_resolve",
    "keeper_payload",
    "session_add_take",
    "session_delete",
    "session_remove_take",
    "session_schedule",
    "session_update",
    "take_set_keeper",
]
