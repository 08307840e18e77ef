from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    label = "bookings"
    verbose_name = "Bookings"

    def ready(self) -> None:
        # Imported once the models are ready (a module-level import would load them too early).
        from bookings import activity, schemas, services
        from eventlog.registry import register_listener
        from sessions import hooks

        schemas.register()
        activity.register()
        # A booking follows its session: moved with it (or the move refused), freed with it.
        hooks.on_session_moved(services.follow_session_moved)
        hooks.on_session_cancelled(services.follow_session_cancelled)
        # A deleted song frees what its sessions still hold.
        register_listener("song.deleted", services.follow_song_deleted)
