from rest_framework.routers import DefaultRouter

from bookings.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("resources", views.ResourceViewSet, basename="api-resource")
router.register("bookings", views.BookingViewSet, basename="api-booking")

urlpatterns = router.urls
