"""Server-rendered pages (templates + htmx). Included at the site root by studio/urls.py."""

from django.urls import include, path

from studio import views

urlpatterns = [
    path("p/new/", views.project_create, name="project-create"),
    path("p/<int:project_id>/", views.project_dashboard, name="project-dashboard"),
    path("p/<int:project_id>/board/", views.project_board, name="project-board"),
    path("p/<int:project_id>/members/", views.project_members, name="project-members"),
    path("p/<int:project_id>/members/add/", views.member_add, name="member-add"),
    path("p/<int:project_id>/songs/new/", views.song_create, name="song-create"),
    path("p/<int:project_id>/tasks/new/", views.task_create, name="task-create"),
    path("tasks/<int:task_id>/move/", views.task_move, name="task-move"),
    path("tasks/<int:task_id>/edit/", views.task_update, name="task-update"),
    path("members/<int:membership_id>/role/", views.member_role, name="member-role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member-remove"),
    path("songs/<int:song_id>/", views.song_detail, name="song-detail"),
    path("songs/<int:song_id>/move/", views.song_move, name="song-move"),
    path("songs/<int:song_id>/edit/", views.song_update, name="song-update"),
    path("songs/<int:song_id>/credits/", views.credit_add, name="credit-add"),
    path("credits/<int:credit_id>/", views.credit_update, name="credit-update"),
    path("credits/<int:credit_id>/remove/", views.credit_remove, name="credit-remove"),
    path("songs/<int:song_id>/splits/<str:right>/", views.splits_set, name="splits-set"),
    path("songs/<int:song_id>/samples/", views.sample_add, name="sample-add"),
    path("samples/<int:sample_id>/", views.sample_update, name="sample-update"),
    path("", include("audio.pages")),
    path("", include("sessions.pages")),
]
