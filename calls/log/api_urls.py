"""The call log's JSON API."""

from django.urls import path

from calls.log import api

urlpatterns = [
    path("", api.CallFamilyListApi.as_view(), name="api-calls"),
    path("stats/", api.CallStatsApi.as_view(), name="api-call-stats"),
    path("<str:sid>/", api.CallFamilyDetailApi.as_view(), name="api-call-family"),
]
