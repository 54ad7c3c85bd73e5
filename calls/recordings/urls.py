"""Listening to recordings: the audio, and the voicemail inbox."""

from django.urls import path, register_converter

from calls.recordings import views
from calls.recordings.media import MEDIA_EXTENSIONS


class MediaExtension:
    regex = "|".join(MEDIA_EXTENSIONS)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(MediaExtension, "media_extension")

app_name = "recordings"
urlpatterns = [
    path("voicemail/", views.voicemail_inbox, name="voicemail"),
    path("voicemail/<str:sid>/delete/", views.voicemail_delete, name="voicemail-delete"),
    path("<str:sid>.<media_extension:extension>", views.recording_media, name="media"),
]
