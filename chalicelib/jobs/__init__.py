"""Scheduled jobs: each derives its business instant from the event time, works through members
in shards fanned out over a queue, and is safe to run twice or to resume after a crash."""
