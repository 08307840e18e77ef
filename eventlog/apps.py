from django.apps import AppConfig


class EventlogConfig(AppConfig):
    """The event log at the bottom of the layers: every app records its changes through it."""

    name = "eventlog"
    label = "eventlog"
    verbose_name = "Event log"
