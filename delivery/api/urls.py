from rest_framework.routers import DefaultRouter

from delivery.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("releases", views.ReleaseViewSet, basename="api-release")
router.register("release-tracks", views.ReleaseTrackViewSet, basename="api-releasetrack")
router.register("deliveries", views.DeliveryViewSet, basename="api-delivery")

urlpatterns = router.urls
