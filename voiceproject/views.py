"""Project-wide views that belong to no single app."""

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    """Answer 200 when the database answers a query, 503 naming what failed otherwise.

    The body names the kind of error only: the full message (host, port, user) goes to the
    log, not to whoever can reach this public URL.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        logger.error("Health check: the database did not answer: %s", error)
        return JsonResponse(
            {"status": "error", "database": f"unavailable ({type(error).__name__})"}, status=503
        )
    return JsonResponse({"status": "ok", "database": "ok"})
