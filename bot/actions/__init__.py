"""One Action per kind of request — promote, release, rollback, resume, freeze, unfreeze, schedule.

An Action plans (returns a value: the plan, its fingerprint, the service it touches, why it would
change nothing) and runs (returns an Outcome). Slack, the CLI, the scheduler and jobs call every
Action the same way and render its values themselves; no wording lives here. `base.Actions` is the
registry by kind; `bot.wiring` builds the one the process uses.
"""
