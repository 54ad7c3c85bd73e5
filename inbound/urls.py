"""Pages of the inbound flow, under /calls/ beside the family they act on."""

from django.urls import path

from inbound import views

urlpatterns = [path("<str:sid>/block/", views.block_caller, name="block-caller")]
