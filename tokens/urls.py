from django.urls import path

from tokens.api import AccessTokenApi, ApiTokenApi

urlpatterns = [
    # The hot path first: Django tries the patterns in order.
    path("token/", AccessTokenApi.as_view(), name="api-access-token"),
    path("auth/token/", ApiTokenApi.as_view(), name="api-auth-token"),
]
