from reviewlinks.api import views
from studio.api.routers import api_router

router = api_router()
router.register("review-links", views.ReviewLinkViewSet, basename="api-reviewlink")
router.register("leak-traces", views.LeakTraceViewSet, basename="api-leaktrace")

urlpatterns = router.urls
