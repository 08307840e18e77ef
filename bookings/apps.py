from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    label = "bookings"
    verbose_name = "Bookings"
