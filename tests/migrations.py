"""Migrate the test database to chosen migrations and back, for tests of data migrations
(the fixture `back_to_the_latest_schema` in conftest.py migrates back)."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets):
    """Migrate to `targets` ((app, migration) pairs) and return the apps as they were then."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_the_latest_schema() -> None:
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
