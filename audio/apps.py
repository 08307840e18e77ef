from django.apps import AppConfig


class AudioConfig(AppConfig):
    name = "audio"
    label = "audio"
    verbose_name = "Audio"

    def ready(self) -> None:
        # Imported once the models are ready (a module-level import would load them too early).
        from audio import activity
        from audio.jobs import kinds, master, render

        activity.register()
        kinds.register_builtin()
        render.register_render()
        master.register_master()
