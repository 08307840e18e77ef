from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"
    label = "studio"
    verbose_name = "Studio"

    def ready(self) -> None:
        from studio import checks  # noqa: F401  (registers deploy checks)
