"""Unsubscribe links: signed (employee, kind of message or "all") and time-stamped. A link
works for UNSUBSCRIBE_LINK_MAX_AGE_DAYS days after its e-mail was sent (default 365); an
older one gets a page that says so. Every batch of e-mails reads the unsubscribes of its
recipients before it sends (`unsubscribed_ids`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _

from programs.models import Employee
from reports.models import MessageKind, Unsubscribe

UNSUBSCRIBE_SALT = "reports.unsubscribe"


class UnsubscribeLinkExpiredError(Exception):
    """A genuine unsubscribe link older than UNSUBSCRIBE_LINK_MAX_AGE_DAYS."""


def unsubscribe_token(*, employee: Employee, kind: str, signer: signing.TimestampSigner | None = None) -> str:
    """A signed, time-stamped, URL-safe token naming the employee and the kind of message
    (or "all"). `signer` (default: one on the current time, salted for unsubscribes) is
    for a signer with another clock, e.g. a link signed a year ago."""
    signer = signer or signing.TimestampSigner(salt=UNSUBSCRIBE_SALT)
    return signer.sign_object({"e": employee.pk, "k": kind}, compress=True)


@dataclass(frozen=True)
class UnsubscribeRequest:
    employee: Employee
    kind: str

    @property
    def kind_label(self) -> str:
        if self.kind == Unsubscribe.ALL:
            return _("all LearnHub e-mails")
        return _("%(kind)s e-mails") % {"kind": MessageKind(self.kind).label}


def unsubscribe_read(*, token: str) -> UnsubscribeRequest | None:
    """The employee and kind a token names; None for a bad signature, an unknown kind
    or an employee who no longer exists. A genuine token signed more than
    UNSUBSCRIBE_LINK_MAX_AGE_DAYS days ago raises UnsubscribeLinkExpiredError (the
    signature is checked first: a forged token is "not valid", never "expired")."""
    max_age = dt.timedelta(days=settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS)
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=max_age)
        employee_id, kind = int(data["e"]), str(data["k"])
    except signing.SignatureExpired as exc:
        raise UnsubscribeLinkExpiredError(str(exc)) from exc
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if kind != Unsubscribe.ALL and kind not in MessageKind.values:
        return None
    employee = Employee.objects.filter(pk=employee_id).first()
    return None if employee is None else UnsubscribeRequest(employee=employee, kind=kind)


def unsubscribe_apply(*, request: UnsubscribeRequest) -> Unsubscribe:
    """Record the unsubscribe; honoured by the next batch of e-mails (each reads the
    unsubscribes of its recipients before it sends). Idempotent: a second click keeps the
    first row."""
    row, _ = Unsubscribe.objects.get_or_create(employee=request.employee, kind=request.kind)
    return row


def unsubscribed_ids(*, kind: str, employee_ids: Iterable[int]) -> set[int]:
    """Those of `employee_ids` who stopped `kind` messages or all of them. One query,
    however many people."""
    rows = Unsubscribe.objects.filter(kind__in=[kind, Unsubscribe.ALL], employee_id__in=list(employee_ids))
    return set(rows.values_list("employee_id", flat=True))
