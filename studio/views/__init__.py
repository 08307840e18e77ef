"""Server-rendered pages of the core domain, one module per page family.

Thin: every read goes through a member-scoped selector, every write through a service; htmx
requests get the page's fragment (templates/studio/_*.html), full requests the page.
"""

from studio.views.board import project_board, task_create, task_move, task_update
from studio.views.members import member_add, member_remove, member_role, project_members
from studio.views.projects import project_create, project_dashboard, project_list, song_create
from studio.views.song import (
    credit_add,
    credit_remove,
    credit_update,
    sample_add,
    sample_update,
    song_detail,
    song_move,
    song_part,
    song_update,
    splits_set,
)

__all__ = [
    "credit_add",
    "credit_remove",
    "credit_update",
    "member_add",
    "member_remove",
    "member_role",
    "project_board",
    "project_create",
    "project_dashboard",
    "project_list",
    "project_members",
    "sample_add",
    "sample_update",
    "song_create",
    "song_detail",
    "song_move",
    "song_part",
    "song_update",
    "splits_set",
    "task_create",
    "task_move",
    "task_update",
]
