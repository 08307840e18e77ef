from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Imported once the models are ready (a module-level import would load them too early).
        from notifications import listeners

        listeners.register()
