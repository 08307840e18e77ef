from django.urls import include, path

from studio.api import me, views
from studio.api.routers import api_router

router = api_router()
router.register("projects", views.ProjectViewSet, basename="api-project")
router.register("members", views.MembershipViewSet, basename="api-membership")
router.register("songs", views.SongViewSet, basename="api-song")
router.register("tasks", views.TaskViewSet, basename="api-task")
router.register("credits", views.CreditViewSet, basename="api-credit")
router.register("sample-uses", views.SampleUseViewSet, basename="api-sampleuse")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("me/", me.MeView.as_view(), name="api-me"),
    path("", include(router.urls)),
]
