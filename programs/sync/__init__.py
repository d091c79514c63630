"""Provider sync: completion records from a provider (API or file) into enrollments.

Import from the module that holds what you need, in the order they build on each other:

- `programs.sync.records`: one provider record: normalized, validated, keyed, merged with
  a duplicate, serialized to be replayed.
- `programs.sync.lease`: one sync at a time per connection (the claim, its renewal by a
  heartbeat, the takeover of a dead sync).
- `programs.sync.pipeline`: a run: the writes (courses, enrollments, unmatched and invalid
  records), `sync_run`, `sync_api`, and matching unmatched records again.
- `programs.sync.schedule`: asking for syncs: `sync_problem` (can this connection sync
  now?), `sync_request`, the queued request's answer and wait, and the schedule.

Their Celery tasks are in `programs.tasks`, which the modules here queue by name
(`programs.task_queue`) and never import.
"""
