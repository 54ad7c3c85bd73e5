from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from agents import views as agent_views
from agents.setup_admin import twilio_setup_view
from voiceproject import views

urlpatterns = [
    path("", agent_views.home, name="home"),
    path("phone/", agent_views.phone, name="phone"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("csp-report/", views.csp_report, name="csp-report"),
    path(
        "admin/twilio-setup/",
        admin.site.admin_view(twilio_setup_view),
        name="twilio-setup",
    ),
    path("admin/", admin.site.urls),
    path("api/", include("tokens.urls")),
    path("api/", include("calls.presence.urls")),
    path("api/calls/", include("calls.log.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script.
    # Browsers that are not logged in are sent to the login page first.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("calls/", include("calls.log.urls")),
    path("recordings/", include("calls.recordings.urls")),
    path("twilio/", include("calls.webhooks.urls")),
]
