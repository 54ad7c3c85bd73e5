"""The call log's JSON API."""

urlpatterns = []
