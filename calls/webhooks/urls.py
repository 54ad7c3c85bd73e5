"""URLs Twilio requests: the Voice URL, the Voice Fallback URL and status callbacks."""

from django.urls import path

from calls.webhooks import views as webhooks

app_name = "webhooks"
urlpatterns = [
    path("voice/", webhooks.voice, name="voice"),
    path("voice/fallback/", webhooks.voice_fallback, name="voice-fallback"),
    path("status/", webhooks.status_callback, name="status"),
]
