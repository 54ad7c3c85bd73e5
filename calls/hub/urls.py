from django.urls import path

from calls.hub import api

urlpatterns = [
    path("current/", api.CurrentCallApi.as_view(), name="api-hub-current"),
    path("calls/<str:sid>/cancel/", api.CancelCallApi.as_view(), name="api-hub-cancel-call"),
    path("<str:name>/hold/", api.HoldApi.as_view(), name="api-hub-hold"),
    path("<str:name>/resume/", api.ResumeApi.as_view(), name="api-hub-resume"),
    path("<str:name>/transfer/", api.TransferApi.as_view(), name="api-hub-transfer"),
    path("<str:name>/consult/", api.ConsultApi.as_view(), name="api-hub-consult"),
    path("<str:name>/complete/", api.CompleteTransferApi.as_view(), name="api-hub-complete"),
    path(
        "<str:name>/cancel-consult/", api.CancelConsultApi.as_view(), name="api-hub-cancel-consult"
    ),
    path("<str:name>/add/", api.AddPartyApi.as_view(), name="api-hub-add"),
    path("<str:name>/remove/", api.RemovePartyApi.as_view(), name="api-hub-remove"),
    path("<str:name>/monitor/", api.MonitorApi.as_view(), name="api-hub-monitor"),
    path("<str:name>/leave/", api.LeaveApi.as_view(), name="api-hub-leave"),
]
