from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse only: rows the system writes itself (webhooks, reconciliation, presence)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
