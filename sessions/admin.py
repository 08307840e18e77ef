from django.contrib import admin

from sessions.models import Event
from studio.admin import ReadMostlyAdmin

admin.site.register(Event, ReadMostlyAdmin)
