"""Password change and reset, as Django's views, with guessing and mail floods throttled."""

from typing import Any

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from rest_framework import status

from voiceproject.client_address import client_address
from voiceproject.throttles import throttle_count, throttle_reached

PASSWORD_CHANGE_SCOPE = "password-change-failures"
PASSWORD_RESET_MAIL_SCOPE = "password-reset-mails"
PASSWORD_RESET_CLIENT_SCOPE = "password-reset-requests"
HOUR = 60 * 60


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, which stops checking the current password after
    LOGIN_FAILURE_LIMIT wrong ones within LOGIN_LOCKOUT_MINUTES: whoever holds a stolen
    session cannot guess at it without end."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if throttle_reached(
            scope=PASSWORD_CHANGE_SCOPE, key=str(request.user.pk), limit=settings.AXES_FAILURE_LIMIT
        ):
            minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
            context = self.get_context_data(
                form=self.get_form_class()(user=request.user),
                refusal=f"Too many wrong current passwords: try again in {minutes} minutes.",
            )
            return self.render_to_response(context, status=status.HTTP_429_TOO_MANY_REQUESTS)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: auth_forms.PasswordChangeForm) -> HttpResponse:
        if "old_password" in form.errors:
            throttle_count(
                scope=PASSWORD_CHANGE_SCOPE,
                key=str(self.request.user.pk),
                window=int(settings.AXES_COOLOFF_TIME.total_seconds()),
            )
        return super().form_invalid(form)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, with two limits per hour: PASSWORD_RESET_CLIENT_LIMIT
    requests from one client address (then a 429), and PASSWORD_RESET_MAIL_LIMIT mails to one
    email address (then the same answer, without a mail), so that nobody can flood a mailbox
    and no answer tells whether an address belongs to a user."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        requests_from_client = throttle_count(
            scope=PASSWORD_RESET_CLIENT_SCOPE, key=client_address(request), window=HOUR
        )
        if requests_from_client > settings.PASSWORD_RESET_CLIENT_LIMIT:
            context = self.get_context_data(
                form=self.get_form_class()(),
                refusal="Too many reset requests from this address: try again in an hour.",
            )
            return self.render_to_response(context, status=status.HTTP_429_TOO_MANY_REQUESTS)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: auth_forms.PasswordResetForm) -> HttpResponse:
        mails_to_address = throttle_count(
            scope=PASSWORD_RESET_MAIL_SCOPE,
            key=form.cleaned_data["email"].strip().lower(),
            window=HOUR,
        )
        if mails_to_address > settings.PASSWORD_RESET_MAIL_LIMIT:
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
