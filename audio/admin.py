from django.contrib import admin

from audio.models import Asset, Master, Mix, Stem, Take
from studio.admin import ReadMostlyAdmin

for model in (Asset, Stem, Take, Mix, Master):
    admin.site.register(model, ReadMostlyAdmin)
