from rest_framework.routers import DefaultRouter

from sessions.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("comments", views.CommentViewSet, basename="comment")
router.register("approvals", views.ApprovalViewSet, basename="approval")
router.register("working-sessions", views.WorkingSessionViewSet, basename="workingsession")
router.register("keepers", views.KeeperViewSet, basename="keeper")
router.register("presence", views.PresenceViewSet, basename="presence")

urlpatterns = router.urls
