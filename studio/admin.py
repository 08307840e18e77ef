from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from eventlog.models import Event
from studio.models import Credit, Membership, Project, SampleUse, Song, Split, StageChange, Task


class ReadMostlyAdmin(admin.ModelAdmin):
    """Admin for inspection: domain writes go through the services, which record events."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


for model in (Project, Membership, Song, StageChange, Task, Credit, Split, SampleUse):
    admin.site.register(model, ReadMostlyAdmin)
admin.site.register(Event, ReadMostlyAdmin)
