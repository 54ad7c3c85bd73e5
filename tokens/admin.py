from django.contrib import admin
from django.http import HttpRequest

from tokens.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Every device logged in to the API; deleting one logs that device out."""

    list_display = ["user", "name", "created_at", "expires_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "name"]
    fields = readonly_fields = ("user", "name", "created_at", "expires_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Devices log in through the API; the key is shown to them alone.
        return False
