from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"
    label = "studio"
    verbose_name = "Studio"

    def ready(self) -> None:
        # Imported once the models are ready (a module-level import would load them too early).
        from studio import activity, checks  # noqa: F401  (checks registers the deploy checks)

        activity.register()
        from django.db.models.signals import pre_save

        from studio.models.limits import text_lengths_check

        pre_save.connect(text_lengths_check, dispatch_uid="studio.text_lengths")
