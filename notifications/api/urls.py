from django.urls import path

from notifications.api import views

urlpatterns = [
    path("notifications/", views.NotificationListView.as_view(), name="api-notification-list"),
    path(
        "notifications/read-all/",
        views.NotificationReadAllView.as_view(),
        name="api-notification-read-all",
    ),
    path(
        "notifications/<str:pk>/",
        views.NotificationDetailView.as_view(),
        name="api-notification-detail",
    ),
    path(
        "notifications/<str:pk>/read/",
        views.NotificationReadView.as_view(),
        name="api-notification-read",
    ),
    path(
        "notification-preferences/",
        views.PreferenceListView.as_view(),
        name="api-notification-preferences",
    ),
    path(
        "notification-preferences/<str:kind>/",
        views.PreferenceDetailView.as_view(),
        name="api-notification-preference",
    ),
]
