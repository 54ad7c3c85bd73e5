"""What reading a token's owner costs: our one query, beside the ORM's and a bare round trip.

A device's token request that the last second's owners do not answer reads the API token, its
user, her agent and TwiML App in one query (tokens.authentication.token_owner_read). This runs
that read in-process, in interleaved rounds with two references: the same read through the
ORM (select_related and only), and the same join fetched as a plain row with no model
instances. It prints the CPU time of each, in this process and in PostgreSQL's backend:

    python benches/token_owner_bench.py [--reads 5000] [--rounds 5]

Creates and drops its own database, token_owner_bench.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benches.harness import fresh_database, manage_shell, served_environment

DATABASE_NAME = "token_owner_bench"
MEASURE = """
import time
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from agents.models import Agent, TwimlApp
from benches.profile_hot_paths import DatabaseCpu
from tokens.api_tokens import api_token_create, api_token_key_hash
from tokens.authentication import token_owner_read
from tokens.models import ApiToken

app = TwimlApp.objects.create(sid="AP" + "c3" * 16, friendly_name="Bench")
user = get_user_model().objects.create_user("bench_agent")
Agent.objects.create(user=user, identity="bench_agent", twiml_app=app)
key_hash = api_token_key_hash(api_token_create(user=user, name="bench").key)
REFERENCE = '''
SELECT t.id, t.user_id, t.password_digest, t.expires_at, u.id, u.password, u.username,
       u.is_active, u.is_staff, u.is_superuser, a.id, a.user_id, a.identity, a.twiml_app_id,
       a.incoming_allowed, a.is_active, p.id, p.sid, p.apn_credential_sid, p.fcm_credential_sid
FROM tokens_apitoken t JOIN auth_user u ON u.id = t.user_id
LEFT JOIN agents_agent a ON a.user_id = u.id LEFT JOIN agents_twimlapp p ON p.id = a.twiml_app_id
WHERE t.key_hash = %s AND t.expires_at > now()
'''
FIELDS = (
    "password_digest", "expires_at", "user__password", "user__username", "user__is_active",
    "user__is_staff", "user__is_superuser", "user__agent__identity",
    "user__agent__incoming_allowed", "user__agent__is_active", "user__agent__twiml_app__sid",
    "user__agent__twiml_app__apn_credential_sid", "user__agent__twiml_app__fcm_credential_sid",
)

def ours():
    assert token_owner_read(key_hash=key_hash)

def orm():
    ApiToken.objects.select_related("user__agent__twiml_app").only(*FIELDS).get(
        key_hash=key_hash, expires_at__gt=timezone.now()
    )

def reference():
    with connection.cursor() as cursor:
        cursor.execute(REFERENCE, [key_hash])
        assert cursor.fetchone()

spent = {"ours": [0.0, 0.0], "orm": [0.0, 0.0], "bare row": [0.0, 0.0]}
for _ in range(ROUNDS):
    for name, read in (("ours", ours), ("orm", orm), ("bare row", reference)):
        database = DatabaseCpu()
        began = time.process_time()
        for _ in range(READS):
            read()
        spent[name][0] += time.process_time() - began
        spent[name][1] += database.spent()
reads = READS * ROUNDS
for name, (process, database) in spent.items():
    in_process, in_database = process / reads * 1e6, database / reads * 1e6
    print(f"{name:<10} {in_process:6.0f} us in-process {in_database:6.0f} us in PostgreSQL")
extra = (spent["orm"][0] - spent["ours"][0]) / reads * 1e6
print(f"the ORM costs {extra:.0f} us of CPU in-process a read more than ours")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    environment = served_environment(DATABASE_NAME)
    with fresh_database(DATABASE_NAME, prepare_with=environment):
        code = f"READS = {options.reads}\nROUNDS = {options.rounds}\n" + MEASURE
        print(manage_shell(code, environment=environment), end="")


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent.parent)
    main()
