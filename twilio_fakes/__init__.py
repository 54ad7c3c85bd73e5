"""Twilio, faked faithfully for our tests, benchmarks and demo data.

`rest` serves Twilio's REST API over real HTTP on loopback; `scenarios` builds the requests
Twilio makes for each kind of Voice SDK call, leg by leg; `signing` signs them as Twilio does.
Nothing here imports our apps' code that handles those requests.
"""
