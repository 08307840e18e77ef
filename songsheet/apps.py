from django.apps import AppConfig


class SongSheetConfig(AppConfig):
    name = "songsheet"
    label = "songsheet"
    verbose_name = "Song sheet"
