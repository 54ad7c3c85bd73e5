"""The call log pages for analysts and supervisors."""

app_name = "calls"
urlpatterns = []
