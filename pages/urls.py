"""Server-rendered pages (templates + htmx). Included at the site root by studio/urls.py.

Thin views: every read goes through a member-scoped selector, every write through a service;
htmx requests get the page's fragment, full requests the whole page."""

from django.urls import include, path

from pages import board, invitations, members, profile, projects, song

urlpatterns = [
    path("account/", profile.profile, name="profile"),
    path("p/new/", projects.project_create, name="project-create"),
    path("p/<int:project_id>/", projects.project_dashboard, name="project-dashboard"),
    path("p/<int:project_id>/board/", board.project_board, name="project-board"),
    path("p/<int:project_id>/gates/", projects.project_gates, name="project-gates"),
    path("p/<int:project_id>/edit/", projects.project_update, name="project-update"),
    path("p/<int:project_id>/archive/", projects.project_archive, name="project-archive"),
    path("p/<int:project_id>/unarchive/", projects.project_unarchive, name="project-unarchive"),
    path("p/<int:project_id>/delete/", projects.project_delete, name="project-delete"),
    path("p/<int:project_id>/restore/", projects.project_restore, name="project-restore"),
    path("p/<int:project_id>/members/", members.project_members, name="project-members"),
    path("p/<int:project_id>/members/add/", members.member_add, name="member-add"),
    path("p/<int:project_id>/songs/new/", projects.song_create, name="song-create"),
    path("p/<int:project_id>/tasks/new/", board.task_create, name="task-create"),
    path("tasks/<int:task_id>/move/", board.task_move, name="task-move"),
    path("tasks/<int:task_id>/edit/", board.task_update, name="task-update"),
    path("tasks/<int:task_id>/delete/", board.task_delete, name="task-delete"),
    path(
        "p/<int:project_id>/invitations/",
        invitations.project_invitations,
        name="project-invitations",
    ),
    path(
        "invitations/<int:invitation_id>/revoke/",
        invitations.invitation_revoke,
        name="invitation-revoke",
    ),
    path("invite/<str:token>/", invitations.invitation_open, name="invitation-open"),
    path("members/<int:membership_id>/role/", members.member_role, name="member-role"),
    path("members/<int:membership_id>/remove/", members.member_remove, name="member-remove"),
    path("songs/<int:song_id>/", song.song_detail, name="song-detail"),
    path("songs/<int:song_id>/move/", song.song_move, name="song-move"),
    path("songs/<int:song_id>/edit/", song.song_update, name="song-update"),
    path("songs/<int:song_id>/archive/", song.song_archive, name="song-archive"),
    path("songs/<int:song_id>/unarchive/", song.song_unarchive, name="song-unarchive"),
    path("songs/<int:song_id>/delete/", song.song_delete, name="song-delete"),
    path("songs/<int:song_id>/restore/", song.song_restore, name="song-restore"),
    path("songs/<int:song_id>/credits/", song.credit_add, name="credit-add"),
    path("credits/<int:credit_id>/", song.credit_update, name="credit-update"),
    path("credits/<int:credit_id>/remove/", song.credit_remove, name="credit-remove"),
    path("songs/<int:song_id>/splits/<str:right>/", song.splits_set, name="splits-set"),
    path(
        "songs/<int:song_id>/splits/<str:right>/preview/",
        song.splits_preview,
        name="splits-preview",
    ),
    path("songs/<int:song_id>/samples/", song.sample_add, name="sample-add"),
    path("samples/<int:sample_id>/", song.sample_update, name="sample-update"),
    path("", include("pages.audio")),
    path("", include("pages.review")),
    path("", include("pages.mixer")),
    path("", include("pages.masters")),
    path("", include("pages.releases")),
    path("", include("pages.sheet")),
    path("", include("pages.inbox")),
    path("", include("pages.time")),
    path("", include("pages.calendar")),
]
