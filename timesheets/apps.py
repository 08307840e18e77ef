"""Time planned against time spent: estimates, time logged by members, the totals per song and
per stage."""

from django.apps import AppConfig


class TimesheetsConfig(AppConfig):
    name = "timesheets"
    label = "timesheets"
    verbose_name = "Timesheets"

    def ready(self) -> None:
        # Imported once the models are ready (a module-level import would load them too early).
        from timesheets import activity, schemas

        schemas.register()
        activity.register()
