from django.urls import path

from tokens.api import ApiTokenApi, access_token_view

urlpatterns = [
    # The hot path first: Django tries the patterns in order.
    path("token/", access_token_view(), name="api-access-token"),
    path("auth/token/", ApiTokenApi.as_view(), name="api-auth-token"),
]
