from django.urls import path

from tokens.api import AccessTokenApi, ApiTokenApi

urlpatterns = [
    path("auth/token/", ApiTokenApi.as_view(), name="api-auth-token"),
    path("token/", AccessTokenApi.as_view(), name="api-access-token"),
]
