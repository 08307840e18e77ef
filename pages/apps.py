from django.apps import AppConfig


class PagesConfig(AppConfig):
    """Server-rendered pages: the top of the layers, composing every app below."""

    name = "pages"
    label = "pages"
    verbose_name = "Pages"
