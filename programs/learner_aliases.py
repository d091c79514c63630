"""Provider learners who do not match the roster, as the unmatched records page deals with
them: linked to an employee (a LearnerAlias, per provider kind: every record with that
learner key then matches that employee, and the records already kept are matched again by
`programs.sync.pipeline.unmatched_rematch`), or dismissed (a contractor: their records are
kept, out of the list) and restored. Every link, unlink, dismiss and restore is written to
the audit trail (LearnerAliasChange) with who did it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.translation import gettext as _

from programs.models import (
    Employee,
    Enrollment,
    LearnerAlias,
    LearnerAliasAction,
    LearnerAliasChange,
    LearnerDismissal,
    Provider,
    UnmatchedRecord,
)
from programs.providers.base import ProviderRecord
from programs.sync.merge import unmatched_reason
from programs.sync.pipeline import unmatched_rematch_queue
from programs.sync.records import record_to_json
from reports.hooks import progress_changed

RECENT_LIMIT = 50


def _audit(
    *, provider: str, learner_key: str, action: str, by: Employee | None, employee: Employee | None = None
) -> None:
    LearnerAliasChange.objects.create(
        provider=provider,
        learner_key=learner_key,
        action=action,
        employee_email=employee.email if employee else "",
        changed_by=by,
    )


def _learner_checked(*, provider: str, learner_key: str) -> str:
    """The learner key, trimmed, when `provider` is a known kind and some kept unmatched
    record of that kind has it; else a ValidationError."""
    learner_key = learner_key.strip()
    if provider not in Provider.values:
        raise ValidationError({"provider": [_("Unknown provider %(provider)r.") % {"provider": provider}]})
    if not UnmatchedRecord.objects.filter(connection__kind=provider, learner_key=learner_key).exists():
        label = Provider(provider).label
        raise ValidationError(
            {
                "learner_key": [
                    _("No unmatched record of a %(provider)s learner %(learner)r: nothing to link or dismiss.")
                    % {"provider": label, "learner": learner_key}
                ]
            }
        )
    return learner_key


def learner_alias_link(*, provider: str, learner_key: str, email: str, by: Employee | None) -> LearnerAlias:
    """Link the unmatched `provider` learner `learner_key` to the roster employee with
    this e-mail (ignoring case): from then on every record of that kind with that key
    matches them, and the kept unmatched records are matched again (queued after commit),
    so their completions count. Refused with a message, changing nothing: an unknown
    learner, nobody on the roster with that e-mail, someone who has left (departed on or
    before today), a key already linked (to anyone). A dismissed learner is restored by
    the link."""
    learner_key = _learner_checked(provider=provider, learner_key=learner_key)
    email = email.strip()
    employee = Employee.objects.filter(email__iexact=email).first() if email else None
    if employee is None:
        raise ValidationError(
            {"email": [_("Nobody on the roster has the e-mail address '%(email)s'.") % {"email": email}]}
        )
    if employee.has_departed(timezone.localdate()):
        raise ValidationError(
            {
                "email": [
                    _("%(person)s left on %(day)s.") % {"person": employee, "day": f"{employee.departed_on:%Y-%m-%d}"}
                ]
            }
        )
    taken = LearnerAlias.objects.filter(provider=provider, learner_key=learner_key).select_related("employee").first()
    if taken is not None:
        raise ValidationError(
            {
                "learner_key": [
                    _("%(learner)r is already linked to %(email)s.")
                    % {"learner": learner_key, "email": taken.employee.email}
                ]
            }
        )
    try:
        with transaction.atomic():
            alias = LearnerAlias.objects.create(
                provider=provider, learner_key=learner_key, employee=employee, created_by=by
            )
            LearnerDismissal.objects.filter(provider=provider, learner_key=learner_key).delete()
            _audit(provider=provider, learner_key=learner_key, action=LearnerAliasAction.LINK, by=by, employee=employee)
    except IntegrityError:  # linked by someone else since the check
        raise ValidationError(
            {"learner_key": [_("%(learner)r was linked meanwhile.") % {"learner": learner_key}]}
        ) from None
    unmatched_rematch_queue(employee_ids=[employee.pk])
    return alias


def learner_alias_unlink(*, alias: LearnerAlias, by: Employee | None) -> int:
    """Remove an alias: later records with its key no longer match its employee, and the
    enrollments it matched (its kind, its key, its employee) go back to the unmatched
    list, so they stop counting. Returns how many went back."""
    enrollments = Enrollment.objects.filter(
        connection__kind=alias.provider, learner_key=alias.learner_key, employee_id=alias.employee_id
    ).select_related("course")
    with transaction.atomic():
        moved = list(enrollments.select_for_update(of=("self",)))
        UnmatchedRecord.objects.bulk_create(
            [_unmatched_from(enrollment) for enrollment in moved],
            update_conflicts=True,
            unique_fields=["connection", "learner_key", "provider_course_id"],
            update_fields=["email", "external_id", "reason", "record", "raw", "fingerprint", "last_seen_at"],
        )
        Enrollment.objects.filter(pk__in=[e.pk for e in moved]).delete()
        alias.delete()
        _audit(
            provider=alias.provider,
            learner_key=alias.learner_key,
            action=LearnerAliasAction.UNLINK,
            by=by,
            employee=alias.employee,
        )
        if moved:
            progress_changed(program_ids=None)
    return len(moved)


def _unmatched_from(enrollment: Enrollment) -> UnmatchedRecord:
    """The unmatched record an enrollment came from, as far as the enrollment holds it."""
    key = enrollment.learner_key
    record = ProviderRecord(
        raw=enrollment.raw,
        email=key if "@" in key else "",
        external_id="" if "@" in key else key,
        provider_course_id=enrollment.course.provider_course_id,
        course_title=enrollment.course.title,
        enrolled_at=enrollment.enrolled_at,
        last_activity_at=enrollment.last_activity_at,
        is_completed=enrollment.is_completed,
        completed_at=enrollment.completed_at,
        progress=enrollment.progress,
        is_removed=enrollment.is_removed,
    )
    return UnmatchedRecord(
        connection_id=enrollment.connection_id,
        learner_key=key,
        provider_course_id=record.provider_course_id,
        email=record.email,
        external_id=record.external_id,
        reason=unmatched_reason(record)[:500],
        record=record_to_json(record),
        raw=enrollment.raw,
        fingerprint="",  # the next sync writes the row again: the fingerprint then
    )


def learner_dismiss(*, provider: str, learner_key: str, by: Employee | None) -> LearnerDismissal:
    """Set an unmatched learner aside: their records stay kept (a later link or roster
    change still matches them) but leave the unmatched list. Refused for an unknown
    learner or one already dismissed."""
    learner_key = _learner_checked(provider=provider, learner_key=learner_key)
    try:
        with transaction.atomic():
            dismissal = LearnerDismissal.objects.create(provider=provider, learner_key=learner_key, dismissed_by=by)
            _audit(provider=provider, learner_key=learner_key, action=LearnerAliasAction.DISMISS, by=by)
    except IntegrityError:
        raise ValidationError(
            {"learner_key": [_("%(learner)r is already dismissed.") % {"learner": learner_key}]}
        ) from None
    return dismissal


def learner_restore(*, dismissal: LearnerDismissal, by: Employee | None) -> None:
    """Put a dismissed learner back on the unmatched list."""
    with transaction.atomic():
        dismissal.delete()
        _audit(provider=dismissal.provider, learner_key=dismissal.learner_key, action=LearnerAliasAction.RESTORE, by=by)


# --- Reads ----------------------------------------------------------------------------------


def unmatched_learners(*, connection_id: int | None = None) -> QuerySet[UnmatchedRecord, dict[str, Any]]:
    """One row per provider learner (kind, learner key) with kept unmatched records, not
    dismissed: their e-mail, external id and name, how many records and completions, when last
    seen; most recently seen first."""
    records = UnmatchedRecord.objects.all()
    if connection_id is not None:
        records = records.filter(connection_id=connection_id)
    dismissed = LearnerDismissal.objects.filter(
        provider=OuterRef("connection__kind"), learner_key=OuterRef("learner_key")
    )
    return (
        records.exclude(Exists(dismissed))
        .values("connection__kind", "learner_key")
        .annotate(
            email=Max("email"),
            full_name=Max(KT("record__full_name")),
            external_id=Max("external_id"),
            record_count=Count("pk"),
            completed_count=Count("pk", filter=Q(record__is_completed=True)),
            last_seen=Max("last_seen_at"),
        )
        .order_by("-last_seen", "connection__kind", "learner_key")
    )


def learner_aliases_recent() -> QuerySet[LearnerAlias]:
    return LearnerAlias.objects.select_related("employee").order_by("-created_at", "-pk")[:RECENT_LIMIT]


def learner_dismissals_recent() -> QuerySet[LearnerDismissal]:
    return LearnerDismissal.objects.order_by("-dismissed_at", "-pk")[:RECENT_LIMIT]


def learner_alias_changes_recent() -> QuerySet[LearnerAliasChange]:
    return LearnerAliasChange.objects.select_related("changed_by").order_by("-changed_at", "-pk")[:RECENT_LIMIT]
