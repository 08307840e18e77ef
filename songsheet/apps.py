from django.apps import AppConfig


class SongSheetConfig(AppConfig):
    name = "songsheet"
    label = "songsheet"
    verbose_name = "Song sheet"

    def ready(self) -> None:
        # Imported once the models are ready (a module-level import would load them too early).
        from songsheet import activity, schemas

        schemas.register()
        activity.register()
