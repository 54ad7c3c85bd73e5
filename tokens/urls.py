from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from tokens.api import AccessTokenApi

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-auth-token"),
    path("token/", AccessTokenApi.as_view(), name="api-access-token"),
]
