from django.urls import path

from presence.api import AgentDirectoryApi, PresenceApi

urlpatterns = [
    path("presence/", PresenceApi.as_view(), name="api-presence"),
    path("agents/", AgentDirectoryApi.as_view(), name="api-agents"),
]
