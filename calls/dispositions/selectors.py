"""Reads for dispositions: the list offered, and a family's own."""

from django.db.models import QuerySet

from calls.models import Call, Disposition, FamilyDisposition


def dispositions_offered() -> QuerySet[Disposition]:
    """The active dispositions, in the supervisors' order."""
    return Disposition.objects.filter(active=True)


def family_disposition_of(parent: Call) -> FamilyDisposition | None:
    return (
        FamilyDisposition.objects.select_related("disposition", "written_by")
        .filter(call=parent)
        .first()
    )
