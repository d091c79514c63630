"""E-mail delivery: every e-mail LearnHub sends about a program goes through
`emails_send`, the one place that honours unsubscribes, claims each message in the ledger
before sending it (`reports.messaging.ledger`: at-most-once), sends it and records and
counts what happened. The e-mails of one batch share ONE connection to the mail server
(`mail_connection`), each still claimed, sent and recorded on its own."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from programs.models import Employee, LearningProgram
from reports.messaging.ledger import ERROR_MAX_CHARS, employee_key, message_claim
from reports.messaging.unsubscribe import unsubscribe_token, unsubscribed_ids
from reports.models import MessageStatus, SentMessage

logger = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    """A link for an e-mail or a chat post: `path` on SITE_URL."""
    return f"{settings.SITE_URL}{path}"


def in_recipient_language(employee: Employee) -> translation.override:
    """Build or render a message to `employee` inside this: its subject, text and HTML
    are then in the language of their e-mails (`Employee.message_language`: the one they
    chose, else the company default), whatever the request or task that sends it."""
    return translation.override(employee.message_language)


@dataclass(frozen=True)
class LedgerKey:
    """One message an e-mail stands for in the ledger: with the e-mail's kind and person,
    `period` makes its unique key; `subject` is recorded on its row."""

    period: str
    subject: str


@dataclass(frozen=True)
class Email:
    """One e-mail to one person, sent under one ledger key (its kind, the person, `period`).
    `template` names `reports/email/<template>.txt` and `.html`; `sender`, who sent it
    by hand (recorded on its ledger row), None when scheduled. Build its `subject` in
    the recipient's language (`in_recipient_language`); the text and HTML are rendered
    in it."""

    kind: str
    employee: Employee
    period: str
    subject: str
    template: str
    context: dict[str, Any]
    sender: Employee | None = None

    def ledger_keys(self) -> list[LedgerKey]:
        return [LedgerKey(period=self.period, subject=self.subject)]

    def email_for(self, claimed: Sequence[LedgerKey]) -> Email:
        return self


class Outgoing(Protocol):
    """What `emails_send` sends: one e-mail to one person standing for one or more ledger
    keys (`Email`: one; a milestone e-mail: one per milestone it announces). The e-mail
    that goes is `email_for` the keys this run claimed."""

    @property
    def kind(self) -> str: ...

    @property
    def employee(self) -> Employee: ...

    @property
    def sender(self) -> Employee | None: ...

    def ledger_keys(self) -> list[LedgerKey]: ...

    def email_for(self, claimed: Sequence[LedgerKey]) -> Email: ...


@dataclass(frozen=True)
class EmailsSent:
    """What `emails_send` did, person by person (employee ids in the batch's order)."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    unsubscribed: list[int] = field(default_factory=list)
    already_claimed: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many e-mails were sent."""
        return len(self.sent)


def emails_send(*, program: LearningProgram, emails: Iterable[Outgoing], now: dt.datetime | None = None) -> EmailsSent:
    """Send a batch of e-mails, each at most once, over one mail connection (none is
    opened for an empty batch):

    - nothing to anyone who unsubscribed from the e-mail's kind or from all (read once for
      the batch, one query per kind), and no ledger row either;
    - each of an e-mail's ledger keys is claimed (`message_claim`) before it goes; an
      e-mail none of whose keys this run claimed is skipped (another run sent it or is
      sending it), one that got some of them goes as `email_for` those;
    - sent with one-click unsubscribe headers and its rows recorded "sent", or "failed"
      with the backend's error.

    Call it outside a transaction (tasks and views run in autocommit): each claim must be
    committed before its e-mail goes, or a rollback after sending would forget the send."""
    batch = list(emails)
    outcome = EmailsSent()
    if not batch:
        return outcome
    people_by_kind: dict[str, set[int]] = defaultdict(set)
    for outgoing in batch:
        people_by_kind[outgoing.kind].add(outgoing.employee.pk)
    stopped = {kind: unsubscribed_ids(kind=kind, employee_ids=ids) for kind, ids in people_by_kind.items()}
    with mail_connection() as connection:
        for outgoing in batch:
            person = outgoing.employee
            if person.pk in stopped[outgoing.kind]:
                outcome.unsubscribed.append(person.pk)
                continue
            claimed = [
                (key, claim)
                for key in outgoing.ledger_keys()
                if (claim := _email_claim(program=program, outgoing=outgoing, key=key, now=now)) is not None
            ]
            if not claimed:
                outcome.already_claimed.append(person.pk)
                continue
            email = outgoing.email_for([key for key, _ in claimed])
            status = _email_deliver(email=email, claims=[claim for _, claim in claimed], connection=connection)
            (outcome.sent if status == MessageStatus.SENT else outcome.failed).append(person.pk)
    return outcome


def email_render(*, email: Email, reader: Employee | None = None) -> tuple[str, str, str]:
    """(unsubscribe URL, plain text, HTML) of an e-mail, in its recipient's language
    (`in_recipient_language`). The unsubscribe link is that of `reader` when given (a test
    copy: its reader must not unsubscribe the recipient)."""
    unsubscribe = absolute_url(
        reverse("reports:unsubscribe", args=[unsubscribe_token(employee=reader or email.employee, kind=email.kind)])
    )
    context = {
        **email.context,
        "recipient": email.employee,
        "subject": email.subject,
        "unsubscribe_url": unsubscribe,
        "site_url": settings.SITE_URL,
    }
    with in_recipient_language(email.employee):
        text = render_to_string(f"reports/email/{email.template}.txt", context)
        html_body = render_to_string(f"reports/email/{email.template}.html", context)
    return unsubscribe, text, html_body


@contextmanager
def mail_connection() -> Iterator[BaseEmailBackend]:
    """One connection to the mail server for a batch of e-mails, opened once and closed at
    the end. A server that cannot be reached now is logged, not raised: each e-mail then
    tries on its own and records its failure, as a single e-mail would."""
    connection = get_connection()
    try:
        connection.open()
    except Exception as exc:
        logger.warning("mail connection failed: %s", exc)
    try:
        yield connection
    finally:
        connection.close()


def _email_claim(
    *, program: LearningProgram, outgoing: Outgoing, key: LedgerKey, now: dt.datetime | None
) -> SentMessage | None:
    person = outgoing.employee
    return message_claim(
        program=program,
        kind=outgoing.kind,
        recipient_key=employee_key(person.pk),
        period=key.period,
        recipient=person.email,
        subject=key.subject,
        employee=person,
        sent_by=outgoing.sender,
        now=now,
    )


def _email_deliver(*, email: Email, claims: Sequence[SentMessage], connection: BaseEmailBackend) -> str:
    """Render and send one claimed e-mail with List-Unsubscribe headers (RFC 8058
    one-click) and record its ledger rows "sent", or "failed" with the backend's error
    (a failed send resets the batch's connection, which the server may have dropped).
    Returns the status."""
    ids = [claim.pk for claim in claims]
    try:
        _email_message(email=email, connection=connection).send()
    except Exception as exc:  # any backend error: recorded on the rows, the run goes on
        logger.warning("message %s to %s failed: %s", email.kind, email.employee.pk, exc)
        SentMessage.objects.filter(pk__in=ids).update(
            status=MessageStatus.FAILED, attempts=1, error=str(exc)[:ERROR_MAX_CHARS]
        )
        _connection_reset(connection)
        status = MessageStatus.FAILED
    else:
        SentMessage.objects.filter(pk__in=ids).update(status=MessageStatus.SENT, attempts=1, sent_at=timezone.now())
        status = MessageStatus.SENT
    for claim in claims:
        claim.status = status
    return status


def _email_message(
    *, email: Email, connection: BaseEmailBackend | None = None, test_reader: Employee | None = None
) -> EmailMultiAlternatives:
    """The e-mail with List-Unsubscribe headers (RFC 8058 one-click), to its recipient, or
    as a test copy to `test_reader`."""
    unsubscribe, text, html_body = email_render(email=email, reader=test_reader)
    with in_recipient_language(email.employee):
        tag = _("[LearnHub test]") if test_reader else "[LearnHub]"
    message = EmailMultiAlternatives(
        # On one line: a line break someone typed in a name or title would otherwise make the
        # header invalid (Django refuses it, and the e-mail would fail).
        subject=" ".join(f"{tag} {email.subject}".splitlines()),
        body=text,
        to=[(test_reader or email.employee).email],
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        connection=connection,
    )
    message.attach_alternative(html_body, "text/html")
    return message


def email_test_send(*, email: Email, reader: Employee) -> None:
    """Send a test copy of `email` to `reader` (a preview's "send a test to myself"): the
    same text and HTML, the subject marked as a test, the unsubscribe link `reader`'s own.
    Not a message to the recipient: nothing in the ledger, so the nudge interval and the
    weekly period are untouched. A backend error is raised to the caller."""
    _email_message(email=email, test_reader=reader).send()


def _connection_reset(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
        connection.open()
    except Exception as exc:  # the next e-mail tries again on its own and records its failure
        logger.warning("mail connection could not be reopened: %s", exc)
