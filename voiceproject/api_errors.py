"""How the API answers errors that DRF does not know about."""

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus a 503 when the database cannot be reached.

    Clients retry a 503 later; a 500 would say the request itself broke the server. The
    error's details (host, port, user) go to the log only.
    """
    if isinstance(exc, OperationalError | InterfaceError):
        logger.error("API request failed: the database did not answer: %s", exc)
        return Response(
            {"detail": "The database is unavailable; try again shortly."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return drf_exception_handler(exc, context)
