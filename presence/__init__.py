"""Agents' presence: availability, its writes and lapsing, being on a call, and its API.

Above agents and calls: it reads both, and routing and the live board read it. Its tables
(Agent's availability columns, PresenceChange) stay in agents, where their migrations are.
"""
