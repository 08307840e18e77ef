from django.apps import AppConfig


class LiveConfig(AppConfig):
    """The live layer. Label "live": "sessions" is taken by django.contrib.sessions."""

    name = "sessions"
    label = "live"
    verbose_name = "Live"

    def ready(self) -> None:
        from sessions import activity

        activity.register()
