"""URLs Twilio requests: the Voice URL, the Voice Fallback URL and status callbacks."""

app_name = "webhooks"
urlpatterns = []
