from rest_framework.routers import DefaultRouter

from reviewlinks.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("review-links", views.ReviewLinkViewSet, basename="api-reviewlink")
router.register("leak-traces", views.LeakTraceViewSet, basename="api-leaktrace")

urlpatterns = router.urls
