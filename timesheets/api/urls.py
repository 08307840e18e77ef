from rest_framework.routers import DefaultRouter

from timesheets.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("time-entries", views.TimeEntryViewSet, basename="api-timeentry")
router.register("time-summary", views.TimeSummaryViewSet, basename="api-timesummary")

urlpatterns = router.urls
