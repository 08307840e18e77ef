from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    label = "delivery"
    verbose_name = "Delivery"

    def ready(self) -> None:
        # Imported once the models are ready (a module-level import would load them too early).
        from delivery import activity, schemas
        from delivery.jobs import register_deliver

        schemas.register()
        activity.register()
        register_deliver()
