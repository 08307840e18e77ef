from delivery.api import views
from studio.api.routers import api_router

router = api_router()
router.register("releases", views.ReleaseViewSet, basename="api-release")
router.register("release-tracks", views.ReleaseTrackViewSet, basename="api-releasetrack")
router.register("deliveries", views.DeliveryViewSet, basename="api-delivery")

urlpatterns = router.urls
