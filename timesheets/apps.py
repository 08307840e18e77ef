from django.apps import AppConfig


class TimesheetsConfig(AppConfig):
    name = "timesheets"
    label = "timesheets"
    verbose_name = "Timesheets"
