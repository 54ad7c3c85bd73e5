"""Benchmark the recording media proxy: a 50 MB recording streamed through our server.

Starts the fake Twilio API (twilio_fakes/rest.py) in a process of its own, serving a 50 MB
recording made up on demand, and gunicorn with DEBUG=0 on a fresh PostgreSQL database, both
on ephemeral loopback ports. Times a bare download of the audio from the fake (with Twilio's
Basic auth) and the same download through /recordings/<sid>.mp3 as an analyst, side by side;
prints both rates, their ratio (the median of each round's) and the growth of the gunicorn
worker's peak memory.

    python benches/recording_bench.py [--megabytes 50] [--rounds 3]

Exits 1 when a figure misses its target.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benches.harness import (  # noqa: E402
    ROOT,
    analyst_session_cookie,
    database_url,
    fresh_database,
    gunicorn,
    memory_kb,
    reset_peak_memory,
    worker_pid,
)

DATABASE = "recording_bench"
ACCOUNT_SID = "AC" + "be" * 16
AUTH_TOKEN = "recording-bench-auth-token"
RECORDING_SID = "RE" + "be" * 16
CALL_SID = "CA" + "be" * 16
MIN_RATIO = 0.5
MAX_MEMORY_GROWTH_MB = 20
CHUNK_BYTES = 64 * 1024


def start_fake_twilio(size: int) -> tuple[subprocess.Popen, str]:
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twilio_fakes.rest",
            f"--account-sid={ACCOUNT_SID}",
            f"--username={ACCOUNT_SID}",
            f"--password={AUTH_TOKEN}",
            f"--newest={datetime.now(UTC).isoformat()}",
            f"--recording={RECORDING_SID}:{size}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None
    return fake, fake.stdout.readline().strip()


def download(url: str, **options: object) -> tuple[int, float]:
    """Read the whole body a chunk at a time; (bytes, seconds)."""
    started = time.perf_counter()
    received = 0
    with requests.get(url, stream=True, timeout=120, **options) as response:  # type: ignore[arg-type]
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
            received += len(chunk)
    return received, time.perf_counter() - started


def store_the_recording() -> None:
    from calls.models import Call, Recording

    call = Call.objects.create(sid=CALL_SID, account_sid=ACCOUNT_SID, status="completed")
    Recording.objects.create(sid=RECORDING_SID, call=call, kind="call", status="completed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=50, help="size of the recording")
    parser.add_argument("--rounds", type=int, default=5, help="downloads of each kind")
    arguments = parser.parse_args()
    size = arguments.megabytes * 1024 * 1024

    fake, fake_url = start_fake_twilio(size)
    environment = {
        **os.environ,
        "DEBUG": "0",
        "HTTPS_ONLY": "0",
        "SECRET_KEY": "recording-bench-secret-key-not-for-production-use-at-all",
        # A benchmark needs no beat: production refuses to run without Redis otherwise.
        "ALLOW_UNSAFE": "no-redis",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "STATIC_ROOT": str(ROOT / "staticfiles"),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_KEY_SID": "",
        "TWILIO_API_BASE_URL": fake_url,
        "DATABASE_URL": database_url(DATABASE),
    }
    try:
        with fresh_database(DATABASE, prepare_with=environment):
            os.environ.update(environment)
            import django

            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")
            django.setup()
            store_the_recording()
            cookie = analyst_session_cookie()
            from django.db import connections

            connections.close_all()
            with gunicorn(
                "voiceproject.wsgi",
                options=["--workers=1", "--worker-class=sync", "--timeout=120"],
                environment=environment,
            ) as (base_url, server):
                return measure(
                    bare_url=f"{fake_url}/2010-04-01/Accounts/{ACCOUNT_SID}"
                    f"/Recordings/{RECORDING_SID}.mp3",
                    proxy_url=f"{base_url}/recordings/{RECORDING_SID}.mp3",
                    cookie=cookie,
                    worker=worker_pid(server.pid),
                    size=size,
                    rounds=arguments.rounds,
                )
    finally:
        fake.terminate()
        fake.wait(timeout=10)


def measure(
    *, bare_url: str, proxy_url: str, cookie: str, worker: int, size: int, rounds: int
) -> int:
    bare_rates, proxy_rates, growths = [], [], []
    download(proxy_url, headers={"Cookie": cookie, "Range": "bytes=0-1023"})  # warm the worker
    for _ in range(rounds):
        received, seconds = download(bare_url, auth=(ACCOUNT_SID, AUTH_TOKEN))
        assert received == size, f"bare download got {received} bytes of {size}"
        bare_rates.append(received / seconds / 1e6)
        before_kb = reset_peak_memory(worker)
        received, seconds = download(proxy_url, headers={"Cookie": cookie})
        assert received == size, f"proxy download got {received} bytes of {size}"
        proxy_rates.append(received / seconds / 1e6)
        growths.append((memory_kb(worker, "VmHWM") - before_kb) / 1024)
    bare, proxy = statistics.median(bare_rates), statistics.median(proxy_rates)
    # Each round's pair of downloads runs back to back, under the same load from whatever
    # else runs on the machine: the median of their ratios is steadier than a ratio of medians.
    ratio = statistics.median(p / b for p, b in zip(proxy_rates, bare_rates, strict=True))
    growth = max(growths)
    ratio_ok, memory_ok = ratio >= MIN_RATIO, growth < MAX_MEMORY_GROWTH_MB
    print(f"recording of {size / 1024 / 1024:.0f} MB, medians of {rounds} rounds")
    print(f"bare download from the fake Twilio API  {bare:8.1f} MB/s")
    print(f"through the media proxy (analyst)       {proxy:8.1f} MB/s")
    print(f"ratio {ratio:.2f} (target >= {MIN_RATIO}: {'ok' if ratio_ok else 'MISSED'})")
    print(
        f"proxy worker peak memory growth {growth:.1f} MB "
        f"(target < {MAX_MEMORY_GROWTH_MB} MB: {'ok' if memory_ok else 'MISSED'})"
    )
    return 0 if ratio_ok and memory_ok else 1


if __name__ == "__main__":
    sys.exit(main())
