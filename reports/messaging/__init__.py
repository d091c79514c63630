"""Communication that moves the needle: weekly digests, completion-aware nudges with
escalation, the monthly leaderboard update, milestone announcements and chat webhooks.

Every number comes from the progress engine (`reports.progress`, day D included:
`progress_day`) and the dashboard selectors built on it (`reports.selectors`); every rate
and target is written by `programs.templatetags.formats`. Nothing here redefines them.

Each module holds one part; import from the module that holds what you need (nothing is
re-exported here):

- `ledger`: every message claimed before it is sent, and what a crash means (e-mail
  at-most-once, "unknown delivery"); the message keys and periods.
- `unsubscribe`: signed, expiring unsubscribe links; recording and honouring them.
- `delivery`: e-mails rendered and sent over one connection; `emails_send`, the one way a
  batch of e-mails is sent and counted.
- `webhooks`: chat posts (at-least-once): what reaches Slack and Teams, where a post may
  go (the URL rule, the pinned address), claims and delivery; `tasks` holds its Celery task.
- `digests`, `nudges`, `escalations`, `announcements` (leaderboard and milestones): who gets
  which message and what it says.
- `tick`: `communications_tick`, what is due now.
- `settings`: a program's message settings and webhooks, and the ledger as the admin page lists it.
"""
