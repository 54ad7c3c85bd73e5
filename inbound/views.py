"""Blocking a caller from her finished call's page."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from calls.access import call_families_visible_to, may_block_callers
from calls.log.families import family_parent_get
from inbound.blocklist import blocklist_add, caller_blockable
from inbound.models.blocklist import BLOCK_REASON_MAX_LENGTH


class BlockCallerForm(forms.Form):
    reason = forms.CharField(max_length=BLOCK_REASON_MAX_LENGTH)


@require_http_methods(["GET", "POST"])
@login_required
def block_caller(request: HttpRequest, sid: str) -> HttpResponse:
    """Ask (GET), then block (POST) the caller of a finished call the user can see; any
    active agent may, and supervisors."""
    if not may_block_callers(request.user):
        raise PermissionDenied("Only agents and supervisors may block callers.")
    parent = family_parent_get(sid=sid, families=call_families_visible_to(request.user))
    if parent is None:
        raise Http404("No call with this SID that you may see.")
    if not caller_blockable(parent):
        return HttpResponseBadRequest(
            "This call's caller cannot be blocked: the call is not over, was not from a "
            "phone number she showed, or her number is blocked already.",
            content_type="text/plain",
        )
    form = BlockCallerForm(request.POST if request.method == "POST" else None)
    if not form.is_valid():
        status = 400 if form.is_bound else 200
        return render(
            request, "inbound/block_caller.html", {"parent": parent, "form": form}, status=status
        )
    blocklist_add(
        number=parent.from_number, reason=form.cleaned_data["reason"], added_by_id=request.user.pk
    )
    messages.success(
        request, f"Blocked {parent.from_number}: the next calls from it will hear a busy signal."
    )
    return redirect("calls:detail", sid=parent.sid)
