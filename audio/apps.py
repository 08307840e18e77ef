from django.apps import AppConfig


class AudioConfig(AppConfig):
    name = "audio"
    label = "audio"
    verbose_name = "Audio"
