"""The call log pages for analysts, supervisors and agents."""

from django.urls import path

from calls.log import views

app_name = "calls"
urlpatterns = [
    path("", views.call_list, name="list"),
    path("export.csv", views.call_export, name="export"),
    path("stats/", views.call_statistics, name="stats"),
    path("<str:sid>/", views.call_detail, name="detail"),
]
