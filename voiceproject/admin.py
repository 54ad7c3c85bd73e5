from typing import TypeVar

from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest

M = TypeVar("M", bound=Model)


class ReadOnlyAdmin(admin.ModelAdmin[M]):
    """Browse only: rows the system writes itself (webhooks, reconciliation, presence)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False


def admin_user(request: HttpRequest) -> User:
    """The user an admin view or action runs for: the admin site lets in logged-in staff only."""
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied
    return user
