from songsheet.api import views
from studio.api.routers import api_router

router = api_router()
router.register("song-sheets", views.SongSheetViewSet, basename="api-songsheet")
router.register("sections", views.SectionViewSet, basename="api-section")
router.register("palette-items", views.PaletteItemViewSet, basename="api-paletteitem")
router.register("influences", views.InfluenceViewSet, basename="api-influence")

urlpatterns = router.urls
