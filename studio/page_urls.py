"""Server-rendered pages (templates + htmx)."""

urlpatterns: list = []
