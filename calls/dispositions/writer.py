"""The one writer of families' dispositions and notes (calls.models.FamilyDisposition)."""

from django.db import transaction
from django.utils import timezone

from calls.models import Call, Disposition, FamilyDisposition


@transaction.atomic
def family_disposition_write(
    *, parent: Call, disposition: Disposition | None, note: str, written_by_id: int | None
) -> FamilyDisposition | None:
    """Set the family's disposition and note, replacing what was there; both empty clears
    them (None). Who may is calls.access.may_write_family_disposition's to say."""
    note = note.strip()
    if disposition is None and not note:
        FamilyDisposition.objects.filter(call=parent).delete()
        return None
    record, _ = FamilyDisposition.objects.update_or_create(
        call=parent,
        defaults={
            "disposition": disposition,
            "note": note,
            "written_by_id": written_by_id,
            "written_at": timezone.now(),
        },
    )
    return record
