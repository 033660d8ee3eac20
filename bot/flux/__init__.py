"""Flux notification-controller integration: the inbound side.

`events` (pure: verification, parsing, classification, routing) and `receiver` (HTTP, into the outbox).
What the events say in Slack lives with Slack: bot/slack/flux_text.py and bot/slack/outbox.py.
"""
