"""Provider sync: completion records from a provider (API or file) into enrollments.

Import from the module that holds what you need, in the order they build on each other:

- `programs.sync.records`: one provider record: normalized, validated, keyed, ranked for the
  merge of duplicates, fingerprinted, serialized to be replayed.
- `programs.sync.lease`: one sync at a time per connection (the claim, its renewal by a
  heartbeat, the takeover of a dead sync), held by every task of the sync.
- `programs.sync.fetch`: an adapter's pages fetched ahead, in a thread, while a run writes.
- `programs.sync.merge`: a run's writes: its pages staged and merged set-based against the
  run's merge state in the database (courses, enrollments, unmatched and invalid records).
- `programs.sync.pipeline`: a run: `sync_run`, `sync_api` (one task per provider program
  with a worker), `sync_part`, the counts and failures, and matching unmatched records again.
- `programs.sync.schedule`: asking for syncs: `sync_problem` (can this connection sync
  now?), `sync_request`, the queued request's answer and wait, and the schedule.

Their Celery tasks are in `programs.tasks`, which the modules here queue by name
(`programs.task_queue`) and never import.
"""
