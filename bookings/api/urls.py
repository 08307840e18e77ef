from bookings.api import views
from studio.api.routers import api_router

router = api_router()
router.register("resources", views.ResourceViewSet, basename="api-resource")
router.register("bookings", views.BookingViewSet, basename="api-booking")

urlpatterns = router.urls
