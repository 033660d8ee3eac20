"""The bot's durable local state: one SQLite file under state_dir.

    requests     previewed promotions/rollbacks/resumes and their status (compare-and-set transitions)
    approvals    who approved which request, for which plan hash
    idempotency  keys that make Slack retries and double clicks no-ops
    threads      the Slack thread of each request and how far Flux got with its commit
    outbox       messages waiting to be posted to Slack, with retry times
    schedules    promotions scheduled for later (compare-and-set transitions)
    applied      what Flux last applied (and last failed) per environment and Kustomization
    kv           small named values (e.g. the last Git revision a job saw)

One module per concern under bot/adapters/store/ (schema and connection in schema.py and db.py); this
class puts them together on one connection. Which status moves are legal is bot/promotion/states.py's
call: the store only persists and compares-and-sets.
"""

from __future__ import annotations

from bot.adapters.store.applied import Applied
from bot.adapters.store.keys import Keys
from bot.adapters.store.outbox import Outbox, OutboxItem
from bot.adapters.store.requests import PendingRequest, Requests
from bot.adapters.store.schedules import Schedules
from bot.adapters.store.threads import PromotionThread, Threads

__all__ = ["OutboxItem", "PendingRequest", "PromotionThread", "StateStore"]


class StateStore(Requests, Threads, Outbox, Schedules, Keys, Applied):
    """Opens (creating and migrating) the file; every failure of SQLite is an OperationFailed naming it."""
