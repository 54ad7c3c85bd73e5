from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import HttpResponse
from django.shortcuts import render

from agents.selectors import agent_get_for_user
from agents.services import user_api_tokens_revoke


@login_required
def home(request):
    """Show who the user is to the voice system and where to go next."""
    return render(request, "home.html", {"agent": agent_get_for_user(user=request.user)})


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, which also revokes the user's API tokens.

    Django keeps this browser's session and ends the others by itself.
    """

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        user_api_tokens_revoke(user=form.user)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset by emailed link, which also revokes the user's API tokens."""

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        response = super().form_valid(form)
        user_api_tokens_revoke(user=form.user)
        return response
