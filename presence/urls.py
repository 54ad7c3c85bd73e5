from django.urls import path

from presence.api import AgentDirectoryApi, PresenceApi, WrapUpApi

urlpatterns = [
    path("presence/", PresenceApi.as_view(), name="api-presence"),
    path("presence/wrap-up/", WrapUpApi.as_view(), name="api-presence-wrap-up"),
    path("agents/", AgentDirectoryApi.as_view(), name="api-agents"),
]
