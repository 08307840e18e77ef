from studio.api.routers import api_router
from timesheets.api import views

router = api_router()
router.register("time-entries", views.TimeEntryViewSet, basename="api-timeentry")
router.register("time-summary", views.TimeSummaryViewSet, basename="api-timesummary")

urlpatterns = router.urls
