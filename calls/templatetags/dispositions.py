"""The family page's disposition and note, with the form for those who may write them, and
the link to block its caller."""

from typing import Any

from django import template

from calls.access import may_block_callers, may_write_family_disposition
from calls.dispositions.views import FamilyDispositionForm
from calls.models import Call, FamilyDisposition
from inbound.blocklist import caller_blockable

register = template.Library()


@register.inclusion_tag("calls/_disposition.html", takes_context=True)
def family_disposition(context: template.Context, parent: Call) -> dict[str, Any]:
    user = context["request"].user
    try:
        record: FamilyDisposition | None = parent.family_disposition
    except FamilyDisposition.DoesNotExist:
        record = None
    editable = may_write_family_disposition(user, parent)
    form = None
    if editable:
        form = FamilyDispositionForm(
            initial={
                "disposition": record.disposition.name if record and record.disposition else None,
                "note": record.note if record else "",
            }
        )
    return {
        "parent": parent,
        "record": record,
        "form": form,
        "csrf_token": context.get("csrf_token"),
        "may_block": may_block_callers(user) and caller_blockable(parent),
    }
