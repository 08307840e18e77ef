from django.apps import AppConfig


class ReviewLinksConfig(AppConfig):
    name = "reviewlinks"
    label = "reviewlinks"
    verbose_name = "Review links"

    def ready(self) -> None:
        # Imported once the models are ready (a module-level import would load them too early).
        from reviewlinks import activity, pages, schemas
        from reviewlinks.jobs import register_kinds

        schemas.register()
        activity.register()
        register_kinds()
        pages.register()
