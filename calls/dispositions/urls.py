"""The dispositions API (under /api/) and the family page's form (under /calls/)."""

from django.urls import path

from calls.dispositions import api, views

api_urlpatterns = [
    path("dispositions/", api.DispositionListApi.as_view(), name="api-dispositions"),
    path(
        "calls/<str:sid>/disposition/",
        api.FamilyDispositionApi.as_view(),
        name="api-family-disposition",
    ),
]
urlpatterns = [
    path("<str:sid>/disposition/", views.family_disposition_edit, name="family-disposition"),
]
