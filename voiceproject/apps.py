from django.apps import AppConfig


class VoiceprojectConfig(AppConfig):
    """The project itself: its static files, error pages and start-up checks."""

    name = "voiceproject"
    verbose_name = "Voice server"

    def ready(self) -> None:
        from voiceproject import checks  # noqa: F401  (registers the checks)
