from django.contrib import admin

from studio.models import Credit, Membership, Project, SampleUse, Song, Split, StageChange, Task


class ReadMostlyAdmin(admin.ModelAdmin):
    """Admin for inspection: domain writes go through the services, which record events."""

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


for model in (Project, Membership, Song, StageChange, Task, Credit, Split, SampleUse):
    admin.site.register(model, ReadMostlyAdmin)
