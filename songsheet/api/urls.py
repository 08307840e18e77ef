from rest_framework.routers import DefaultRouter

from songsheet.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("song-sheets", views.SongSheetViewSet, basename="api-songsheet")
router.register("sections", views.SectionViewSet, basename="api-section")
router.register("palette-items", views.PaletteItemViewSet, basename="api-paletteitem")
router.register("influences", views.InfluenceViewSet, basename="api-influence")

urlpatterns = router.urls
