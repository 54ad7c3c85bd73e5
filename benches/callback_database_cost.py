"""What PostgreSQL spends on one status callback, part by part.

callback_bench compares rates; this measures the database's share of a callback: the CPU
time (user and system, from /proc) of PostgreSQL's backend for one transaction, committed as
the web process commits a callback, one autocommitted statement each. Side by side, on
databases of their own migrated alike, in interleaved batches (the order turning each round)
so that the machine's drift falls on each alike:
- one durable write: benches/durable_write_floor.py's INSERT of the body into a one-column
  table, callback_bench's second reference;
- our callback: call_apply_callback, the one prepared statement, on the full schema;
- without the reads' indexes: the same on a copy without the indexes Call.Meta declares for
  the call log, its statistics and the live board (the primary key, the SID's uniqueness and
  the parent's foreign-key index stay);
- without triggers and foreign-key checks: the same with session_replication_role = replica,
  which skips the family's two-level trigger, the statistics' day marks and the references.
The last two are measurements only: the server keeps every index, trigger and reference.

    python benches/callback_database_cost.py [--callbacks 6000] [--batch 300]

Needs PostgreSQL at BENCH_POSTGRES_URL as a superuser (for session_replication_role); creates
and drops its own databases, callback_database_cost and its copies.
"""

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches import durable_write_floor
from benches.callback_bench import signed_callbacks
from benches.harness import (
    DATABASE_SUFFIX,
    copy_database,
    drop_database,
    fresh_database,
    served_environment,
)
from benches.profile_hot_paths import DatabaseCpu

DATABASE = "callback_database_cost"
WITHOUT_INDEXES = f"{DATABASE}_without_indexes"
WITHOUT_TRIGGERS = f"{DATABASE}_without_triggers"


@dataclass(frozen=True)
class Variant:
    name: str
    database: str
    session: tuple[str, ...]  # statements run on each new connection
    writes_callbacks: bool  # else the floor's one-column INSERT


VARIANTS = (
    Variant("one durable write", DATABASE, (), writes_callbacks=False),
    Variant("our callback", DATABASE, (), writes_callbacks=True),
    Variant("  without the reads' indexes", WITHOUT_INDEXES, (), writes_callbacks=True),
    Variant(
        "  without triggers, foreign keys",
        WITHOUT_TRIGGERS,
        ("SET session_replication_role = replica",),
        writes_callbacks=True,
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=6000, help="per side")
    parser.add_argument("--batch", type=int, default=300, help="callbacks per batch")
    options = parser.parse_args()

    environment = served_environment(DATABASE)
    with fresh_database(DATABASE, prepare_with=environment):
        try:
            spent = measure(environment, options.callbacks, options.batch)
        finally:
            for copy in (WITHOUT_INDEXES, WITHOUT_TRIGGERS):
                drop_database(copy)

    print(
        f"callback_database_cost: {options.callbacks} status callbacks a side, batches of "
        f"{options.batch} interleaved; PostgreSQL backend CPU per transaction, {os.cpu_count()}"
        " CPUs (shared)"
    )
    print(f"{'':34} {'µs':>6} {'batches: lowest':>16} {'highest':>8} {'vs ours':>8}")
    ours = statistics.fmean(spent["our callback"])
    for name, batches in spent.items():
        mean = statistics.fmean(batches)
        print(f"{name:34} {mean:6.0f} {min(batches):16.0f} {max(batches):8.0f} {mean - ours:+8.0f}")


def measure(environment: dict[str, str], count: int, batch: int) -> dict[str, list[float]]:
    """Each variant's CPU µs per transaction, batch by batch."""
    os.environ.update(environment)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from calls.call_table import call_apply_callback
    from calls.deliveries.calls import parse_twilio_callback
    from calls.models import Call

    with connection.cursor() as cursor:
        cursor.execute(durable_write_floor.CREATE_TABLE)
    connection.close()  # a database is copied only while no one is connected to it
    copy_database(DATABASE, WITHOUT_TRIGGERS)
    copy_database(DATABASE, WITHOUT_INDEXES)
    use_database(WITHOUT_INDEXES, ())
    with connection.cursor() as cursor:
        for index in Call._meta.indexes:
            cursor.execute(f'DROP INDEX "{index.name}"')

    bodies = [body for body, _ in signed_callbacks("http://127.0.0.1/twilio/status/", count)]
    received_at = timezone.now()
    forms = [dict(parse_qsl(body, keep_blank_values=True)) for body in bodies]
    callbacks = [parse_twilio_callback(form, received_at=received_at) for form in forms]

    def floor(first: int) -> None:
        with connection.cursor() as cursor:
            for body in bodies[first : first + batch]:
                cursor.execute(durable_write_floor.INSERT, [body])

    def ours(first: int) -> None:
        for callback in callbacks[first : first + batch]:
            call_apply_callback(callback=callback)

    spent: dict[str, list[float]] = {variant.name: [] for variant in VARIANTS}
    for number, first in enumerate(range(0, count, batch)):
        turn = number % len(VARIANTS)
        for variant in VARIANTS[turn:] + VARIANTS[:turn]:
            use_database(variant.database, variant.session)
            work: Callable[[int], None] = ours if variant.writes_callbacks else floor
            cpu = DatabaseCpu()
            work(first)
            spent[variant.name].append(cpu.spent() / len(bodies[first : first + batch]) * 1e6)
    connection.close()
    return spent


def use_database(name: str, session: tuple[str, ...]) -> None:
    """Point Django's connection at database `name` (from the next query on), with these
    session settings."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name + DATABASE_SUFFIX
    with connection.cursor() as cursor:
        for statement in session:
            cursor.execute(statement)


if __name__ == "__main__":
    main()
