from django.urls import path

from calls.live import api, views

urlpatterns = [path("", views.live_board_page, name="live-board")]
api_urlpatterns = [path("", api.LiveBoardApi.as_view(), name="api-live-board")]
