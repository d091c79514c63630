"""xAPI statement intake: providers (LinkedIn Learning, Udemy Business, ...) push xAPI
statements to a connection of kind xapi, and their completions join the ledger through the
same sync pipeline as every provider's data.

Modules, in the order they build on each other:

- `statements`: what a statement must be to be stored, and what it says (learner, course,
  completion, voiding, time, canonical hash). Pure.
- `tokens`: the connection's client credentials and the OAuth 2.0 access tokens LearnHub
  issues.
- `adapter`: the pipeline adapter that turns stored statements into provider records.
- `services`: storing statements (idempotent by id, 409 on a conflict) and processing them
  through `programs.sync.pipeline.sync_run` under the connection's lease.
- `selectors`: the connection an address names, its addresses and its statement counts.
- `views` / `urls`: /xapi/<connection id>/statements, /oauth2/token and /about.

The Celery tasks are in `programs.tasks`, queued by name (`programs.task_queue`).
"""
