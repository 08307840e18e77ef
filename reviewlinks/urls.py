from django.urls import include, path

from reviewlinks import pages, public

urlpatterns = [
    path("api/", include("reviewlinks.api.urls")),
    path("r/", public.link_page, name="review-public"),
    path("r/open/", public.link_open, name="review-public-open"),
    path("r/audio/", public.link_audio, name="review-public-audio"),
    path("r/download/", public.link_download, name="review-public-download"),
    path("r/listen/", public.link_listen, name="review-public-listen"),
    path("r/comments/", public.link_comment, name="review-public-comment"),
    path("p/<int:project_id>/review-links/", pages.links_page, name="review-links"),
    path("p/<int:project_id>/review-links/send/", pages.link_send, name="review-link-send"),
    path(
        "p/<int:project_id>/review-links/settings/",
        pages.settings_update,
        name="review-settings",
    ),
    path("review-links/<int:link_id>/revoke/", pages.link_revoke, name="review-link-revoke"),
    path("p/<int:project_id>/review-links/trace/", pages.trace_upload, name="review-trace"),
]
