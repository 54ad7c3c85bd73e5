from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from agents import password_views
from agents import views as agent_views
from agents.setup_admin import twilio_setup_view
from calls.dispositions import urls as disposition_urls
from calls.live import urls as live_urls
from voiceproject import views
from voiceproject.metrics_view import metrics
from voiceproject.readiness import readyz

admin.site.site_header = "Voice server administration"
admin.site.site_title = "Voice server admin"
admin.site.index_title = "Agents, numbers and calls"
# The app list beside every page would take a fifth of a 1280 px screen from the call list.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    # The hot paths first: Django tries the patterns in order on every request.
    path("twilio/", include("calls.webhooks.urls")),
    path("api/", include("tokens.urls")),
    path("", agent_views.home, name="home"),
    path("phone/", agent_views.phone, name="phone"),
    path("profile/", agent_views.profile, name="profile"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", password_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password_reset/", password_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("csp-report/", views.csp_report, name="csp-report"),
    path(
        "admin/twilio-setup/",
        admin.site.admin_view(twilio_setup_view),
        name="twilio-setup",
    ),
    path("admin/", admin.site.urls),
    # Before the call log's <sid>/ routes, which would read "live" as a SID.
    path("api/calls/live/", include(live_urls.api_urlpatterns)),
    path("api/", include("presence.urls")),
    path("api/", include(disposition_urls.api_urlpatterns)),
    path("api/calls/", include("calls.log.api_urls")),
    path("api/hub/", include("calls.hub.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script.
    # Browsers that are not logged in are sent to the login page first.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("calls/live/", include(live_urls.urlpatterns)),
    path("calls/", include(disposition_urls.urlpatterns)),
    path("calls/", include("inbound.urls")),
    path("calls/", include("calls.log.urls")),
    path("recordings/", include("calls.recordings.urls")),
]
