"""Agents' presence as the softphone and routing see it: availability plus being on a call."""
