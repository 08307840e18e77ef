from sessions.api import views
from studio.api.routers import api_router

router = api_router()
router.register("comments", views.CommentViewSet, basename="comment")
router.register("approvals", views.ApprovalViewSet, basename="approval")
router.register("working-sessions", views.WorkingSessionViewSet, basename="workingsession")
router.register("keepers", views.KeeperViewSet, basename="keeper")
router.register("presence", views.PresenceViewSet, basename="presence")

urlpatterns = router.urls
