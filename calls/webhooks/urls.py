"""URLs Twilio requests: the Voice URL and its fallback, status callbacks, our <Dial> action,
the end of a voicemail, a menu's answers, a queue's wait loop, conference and recording
status callbacks and Twilio's error reports."""

from django.urls import path

from calls.recordings import webhooks as recordings
from calls.twilio_errors import webhooks as twilio_errors
from calls.webhooks import views as webhooks
from inbound import webhooks as inbound

app_name = "webhooks"
urlpatterns = [
    path("voice/", webhooks.voice, name="voice"),
    path("voice/fallback/", webhooks.voice_fallback, name="voice-fallback"),
    path("status/", webhooks.status_callback, name="status"),
    path("dial/", webhooks.dial_action, name="dial-action"),
    path("voicemail/done/", webhooks.voicemail_done, name="voicemail-done"),
    path("menu/", webhooks.menu_answer, name="menu"),
    path("queue/wait/", inbound.queue_wait, name="queue-wait"),
    path("conference/", webhooks.conference_status, name="conference"),
    path("recording/", recordings.recording_status, name="recording"),
    path("debugger/", twilio_errors.debugger_event, name="debugger"),
    path("events/errors/", twilio_errors.error_log_events, name="error-events"),
]
