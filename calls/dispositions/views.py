"""The family page's disposition and note form."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from calls.access import call_families_visible_to, may_write_family_disposition
from calls.constants import NOTE_MAX_LENGTH
from calls.dispositions.selectors import dispositions_offered
from calls.dispositions.writer import family_disposition_write
from calls.log.families import family_parent_get


class FamilyDispositionForm(forms.Form):
    disposition = forms.ModelChoiceField(
        queryset=dispositions_offered(), to_field_name="name", required=False, empty_label="—"
    )
    note = forms.CharField(max_length=NOTE_MAX_LENGTH, required=False, widget=forms.Textarea)


@require_POST
@login_required
def family_disposition_edit(request: HttpRequest, sid: str) -> HttpResponse:
    """Save the family's disposition and note, then show the family again."""
    parent = family_parent_get(sid=sid, families=call_families_visible_to(request.user))
    if parent is None:
        raise Http404("No call with this SID that you may see.")
    if not may_write_family_disposition(request.user, parent):
        raise PermissionDenied(
            "Only the agent who handled this call, or a supervisor, may write its disposition."
        )
    form = FamilyDispositionForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(
            f"{field}: {' '.join(map(str, errors))}" for field, errors in form.errors.items()
        )
        return HttpResponseBadRequest(
            f"The disposition was not saved ({problems}).", content_type="text/plain"
        )
    family_disposition_write(
        parent=parent,
        disposition=form.cleaned_data["disposition"],
        note=form.cleaned_data["note"],
        written_by_id=request.user.pk,
    )
    messages.success(request, "Saved the disposition and note.")
    return redirect("calls:detail", sid=parent.sid)
