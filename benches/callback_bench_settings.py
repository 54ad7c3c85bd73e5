"""Settings for benches/callback_bench.py: the project's own, plus a bare 204 view."""

from voiceproject.settings import *  # noqa: F403

ROOT_URLCONF = "benches.callback_bench_urls"
