"""Celery application, configured from Django settings under the CELERY_ namespace."""

import os

from celery import Celery

from voiceproject.heartbeats import WorkerHeartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")

app = Celery("voiceproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["consumer"].add(WorkerHeartbeat)
app.autodiscover_tasks()
