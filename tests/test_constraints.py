"""One test per database constraint of programs, champions and reports: the violation is
refused by PostgreSQL itself (IntegrityError, not a form or a service), the valid case
next to it is stored. The last test fails when a constraint is added without a test."""

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction

from champions.models import Attendance, ExecutiveSponsor, LearnerStory, LearningChampion, StudyGroupMembership
from programs.models import (
    CollectionItem,
    CollectionReviewStep,
    Course,
    Employee,
    LearnerAlias,
    LearnerAliasChange,
    LearnerDismissal,
    Organization,
    ProgramExclusion,
    ProviderConnection,
    SyncRun,
    UnmatchedRecord,
    XapiStatement,
    XapiToken,
)
from reports.models import KeptFigures, KeptKind, PersonProgress, ProgressChange, ProgressSnapshot
from tests.factories import (
    CollectionFactory,
    ConnectionFactory,
    CourseFactory,
    EmployeeFactory,
    EnrollmentFactory,
    ProgramFactory,
    StudyGroupFactory,
    StudySessionFactory,
    org,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 5, 4)


def refused(constraint: str, make) -> None:
    """`make()` violates `constraint`: the database refuses it, by that constraint's name."""
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        make()
    assert f'"{constraint}"' in str(error.value)


# --- programs: organizations --------------------------------------------------------------


def test_org_unique_name_per_parent():
    acme = org("Acme")
    Organization.objects.create(name="Sales", parent=acme, path="Acme/Sales", depth=1)
    other = org("Globex")
    Organization.objects.create(name="Sales", parent=other, path="Globex/Sales", depth=1)  # valid: other parent
    refused(
        "org_unique_name_per_parent",
        lambda: Organization.objects.create(name="Sales", parent=acme, path="Acme/Sales (2)", depth=1),
    )


def test_org_unique_root_name():
    Organization.objects.create(name="Acme", path="Acme")
    Organization.objects.create(name="Initech", path="Initech")
    refused("org_unique_root_name", lambda: Organization.objects.create(name="Acme", path="Acme (copy)"))


def test_org_name_not_empty():
    refused("org_name_not_empty", lambda: Organization.objects.create(name="", path="(empty)"))
    assert Organization.objects.create(name="x", path="x").pk


def test_org_name_has_no_separator():
    refused("org_name_has_no_separator", lambda: Organization.objects.create(name="R/D", path="R-D"))
    assert Organization.objects.create(name="R&D", path="R&D").pk


def test_org_path_unique():
    Organization.objects.create(name="Acme", path="Acme")
    refused("programs_organization_path_key", lambda: Organization.objects.create(name="Acme2", path="Acme"))


# --- programs: employees ------------------------------------------------------------------


def test_employee_email_ci_unique():
    Employee.objects.create(email="bob@acme.example")
    Employee.objects.create(email="bobby@acme.example")
    refused("employee_email_ci_unique", lambda: Employee.objects.create(email="Bob@ACME.example"))


def test_employee_email_unique():
    Employee.objects.create(email="bob@acme.example")
    refused("programs_employee_email_key", lambda: Employee.objects.create(email="bob@acme.example"))


def test_employee_external_id_unique():
    Employee.objects.create(email="a@acme.example", external_id="E1")
    Employee.objects.create(email="b@acme.example", external_id="")
    Employee.objects.create(email="c@acme.example", external_id="")  # valid: empty ids do not clash
    refused("employee_external_id_unique", lambda: Employee.objects.create(email="d@acme.example", external_id="E1"))


def test_employee_departed_after_hired():
    refused(
        "employee_departed_after_hired",
        lambda: EmployeeFactory(hired_on=dt.date(2024, 5, 1), departed_on=dt.date(2024, 4, 30)),
    )
    EmployeeFactory(hired_on=dt.date(2024, 5, 1), departed_on=dt.date(2024, 5, 1))
    EmployeeFactory(hired_on=None, departed_on=dt.date(2024, 5, 1))
    assert Employee.objects.count() == 2


def test_employee_not_own_manager():
    boss, report = EmployeeFactory(), EmployeeFactory()
    Employee.objects.filter(pk=report.pk).update(manager=boss)
    refused("employee_not_own_manager", lambda: Employee.objects.filter(pk=boss.pk).update(manager=boss))
    assert Employee.objects.get(pk=boss.pk).manager is None


# --- programs: programs ---------------------------------------------------------------------


def test_program_ends_after_start():
    refused(
        "program_ends_after_start",
        lambda: ProgramFactory(starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 1, 1)),
    )
    assert ProgramFactory(starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 1, 2)).pk


@pytest.mark.parametrize("rate", [Decimal("0"), Decimal("-0.1"), Decimal("1.001")])
def test_program_target_0_1(rate):
    refused("program_target_0_1", lambda: ProgramFactory(target_rate=rate))
    assert ProgramFactory(target_rate=Decimal("1")).pk
    assert ProgramFactory(target_rate=Decimal("0.001")).pk


def test_program_requires_one_or_more():
    refused("program_requires_one_or_more", lambda: ProgramFactory(required_completions=0))
    assert ProgramFactory(required_completions=1).pk


def test_program_status_valid():
    refused("program_status_valid", lambda: ProgramFactory(status="paused"))
    assert ProgramFactory(status="closed").pk


def test_program_name_unique():
    ProgramFactory(name="Learning Program 2026")
    refused("programs_learningprogram_name_key", lambda: ProgramFactory(name="Learning Program 2026"))


def test_program_cloned_once():
    original = ProgramFactory()
    ProgramFactory(cloned_from=original)
    refused("programs_learningprogram_cloned_from_id_key", lambda: ProgramFactory(cloned_from=original))


def test_exclusion_unique_per_program():
    program, employee = ProgramFactory(), EmployeeFactory()
    ProgramExclusion.objects.create(program=program, employee=employee)
    ProgramExclusion.objects.create(program=ProgramFactory(), employee=employee)
    refused("exclusion_unique_per_program", lambda: ProgramExclusion.objects.create(program=program, employee=employee))


# --- programs: catalog and collections ---------------------------------------------------------


def test_course_unique_per_provider():
    Course.objects.create(provider="coursera", provider_course_id="ML101")
    Course.objects.create(provider="udemy", provider_course_id="ML101")
    refused(
        "course_unique_per_provider",
        lambda: Course.objects.create(provider="coursera", provider_course_id="ML101"),
    )


def test_course_id_not_empty():
    refused("course_id_not_empty", lambda: Course.objects.create(provider="coursera", provider_course_id=""))


def test_collection_unique_name_per_org():
    program = ProgramFactory()
    CollectionFactory(program=program, organization=org("Acme/Engineering"), name="Essentials")
    CollectionFactory(program=program, organization=org("Acme/Sales"), name="Essentials")
    CollectionFactory(program=ProgramFactory(), organization=org("Acme/Engineering"), name="Essentials")
    refused(
        "collection_unique_name_per_org",
        lambda: CollectionFactory(program=program, organization=org("Acme/Engineering"), name="Essentials"),
    )


def test_collection_unique_name_company_wide():
    program = ProgramFactory()
    CollectionFactory(program=program, organization=None, name="Foundations")
    CollectionFactory(program=program, organization=org("Acme/Sales"), name="Foundations")
    refused(
        "collection_unique_name_company_wide",
        lambda: CollectionFactory(program=program, organization=None, name="Foundations"),
    )


def test_collection_status():
    refused("collection_status", lambda: CollectionFactory(approval_status="rejected"))
    assert CollectionFactory(approval_status="approved").pk


def test_collection_review_step_action():
    collection = CollectionFactory()
    refused(
        "collection_review_step_action",
        lambda: CollectionReviewStep.objects.create(collection=collection, action="rejected"),
    )
    assert CollectionReviewStep.objects.create(collection=collection, action="approved").pk


def test_story_moderation():
    program, author = ProgramFactory(), EmployeeFactory()
    refused(
        "story_moderation",
        lambda: LearnerStory.objects.create(program=program, employee=author, title="t", body="b", moderation="hidden"),
    )
    assert LearnerStory.objects.create(program=program, employee=author, title="t", body="b").moderation == "pending"


def test_collection_item_unique_course():
    collection, course = CollectionFactory(), CourseFactory()
    CollectionItem.objects.create(collection=collection, course=course, position=1)
    CollectionItem.objects.create(collection=CollectionFactory(), course=course, position=1)
    refused(
        "collection_item_unique_course",
        lambda: CollectionItem.objects.create(collection=collection, course=course, position=2),
    )


# --- programs: provider side ---------------------------------------------------------------------


def test_connection_interval_min_5():
    refused("connection_interval_min_5", lambda: ProviderConnection.objects.create(name="a", sync_interval_minutes=4))
    assert ProviderConnection.objects.create(name="b", sync_interval_minutes=5).pk


def test_connection_name_unique():
    ProviderConnection.objects.create(name="coursera")
    refused("programs_providerconnection_name_key", lambda: ProviderConnection.objects.create(name="coursera"))


def test_syncrun_status():
    connection = ConnectionFactory()
    refused("syncrun_status", lambda: SyncRun.objects.create(connection=connection, status="paused"))
    assert SyncRun.objects.create(connection=connection, status="failed").pk


def test_enrollment_unique_key():
    enrollment = EnrollmentFactory()
    EnrollmentFactory(connection=enrollment.connection, employee=enrollment.employee, course=CourseFactory())
    refused(
        "enrollment_unique_key",
        lambda: EnrollmentFactory(
            connection=enrollment.connection,
            employee=EmployeeFactory(),
            learner_key=enrollment.learner_key,
            course=enrollment.course,
        ),
    )


def test_enrollment_completed_has_date():
    refused("enrollment_completed_has_date", lambda: EnrollmentFactory(is_completed=True, completed_at=None))
    assert EnrollmentFactory(is_completed=True, completed_at=NOW).pk
    assert EnrollmentFactory(is_completed=False, completed_at=None).pk


def test_unmatched_unique_key():
    connection = ConnectionFactory()
    UnmatchedRecord.objects.create(connection=connection, learner_key="x@vendor.example", provider_course_id="ML101")
    UnmatchedRecord.objects.create(connection=connection, learner_key="x@vendor.example", provider_course_id="PY101")
    refused(
        "unmatched_unique_key",
        lambda: UnmatchedRecord.objects.create(
            connection=connection, learner_key="x@vendor.example", provider_course_id="ML101"
        ),
    )


def test_learner_alias_dismissal_and_audit_constraints():
    employee = EmployeeFactory()
    LearnerAlias.objects.create(provider="udemy", learner_key="U1", employee=employee)
    LearnerAlias.objects.create(provider="coursera", learner_key="U1", employee=employee)  # another kind
    refused(
        "learneralias_unique_key",
        lambda: LearnerAlias.objects.create(provider="udemy", learner_key="U1", employee=EmployeeFactory()),
    )
    LearnerDismissal.objects.create(provider="udemy", learner_key="U2")
    refused("learnerdismissal_unique_key", lambda: LearnerDismissal.objects.create(provider="udemy", learner_key="U2"))
    refused(
        "learneraliaschange_action",
        lambda: LearnerAliasChange.objects.create(provider="udemy", learner_key="U1", action="rename"),
    )


def test_xapistatement_constraints():
    connection = ConnectionFactory(name="lrs", kind="xapi")
    other = ConnectionFactory(name="other-lrs", kind="xapi")
    sid = uuid.UUID("6f1d2c3b-0a9e-4b7c-8d5e-000000000001")

    def statement(on=connection, **fields):
        values = {"statement_id": sid, "statement": {}, "canonical_hash": "0" * 64, "verb_id": "v:x"}
        return XapiStatement.objects.create(connection=on, occurred_at=NOW, **{**values, **fields})

    statement()
    statement(on=other)  # valid: the same id on another connection
    refused("xapistatement_unique_id", lambda: statement())
    refused(
        "xapistatement_void_is_no_completion",
        lambda: statement(statement_id=uuid.uuid4(), voids=sid, is_completion=True),
    )
    assert statement(statement_id=uuid.uuid4(), voids=sid).pk


def test_xapitoken_constraints():
    connection = ConnectionFactory(name="lrs", kind="xapi")

    def token(n: int, **fields):
        values = {"token_hash": f"{n:064d}", "credentials_digest": "d" * 64, "created_at": NOW}
        return XapiToken.objects.create(connection=connection, **{**values, **fields})

    assert token(1, expires_at=NOW + dt.timedelta(hours=1)).pk
    refused("xapitoken_expires_after_issue", lambda: token(2, expires_at=NOW))
    refused("programs_xapitoken_token_hash_key", lambda: token(1, expires_at=NOW + dt.timedelta(hours=1)))


# --- champions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "constraint"), [(ExecutiveSponsor, "sponsor_unique"), (LearningChampion, "champion_unique")]
)
def test_appointment_unique(model, constraint):
    program, engineering, person = ProgramFactory(), org("Acme/Engineering"), EmployeeFactory()
    model.objects.create(program=program, organization=engineering, employee=person)
    model.objects.create(program=program, organization=org("Acme/Sales"), employee=person)
    model.objects.create(program=ProgramFactory(), organization=engineering, employee=person)
    refused(constraint, lambda: model.objects.create(program=program, organization=engineering, employee=person))


def test_group_capacity_1():
    refused("group_capacity_1", lambda: StudyGroupFactory(capacity=0))
    assert StudyGroupFactory(capacity=1).pk
    assert StudyGroupFactory(capacity=None).pk


def test_membership_unique():
    group, person = StudyGroupFactory(), EmployeeFactory()
    StudyGroupMembership.objects.create(group=group, employee=person)
    StudyGroupMembership.objects.create(group=StudyGroupFactory(), employee=person)
    refused("membership_unique", lambda: StudyGroupMembership.objects.create(group=group, employee=person))


def test_session_ends_after_start():
    refused("session_ends_after_start", lambda: StudySessionFactory(starts_at=NOW, ends_at=NOW))
    refused("session_ends_after_start", lambda: StudySessionFactory(starts_at=NOW, ends_at=NOW - dt.timedelta(hours=1)))
    assert StudySessionFactory(starts_at=NOW, ends_at=NOW + dt.timedelta(minutes=1)).pk


def test_attendance_unique():
    session, person = StudySessionFactory(), EmployeeFactory()
    Attendance.objects.create(session=session, employee=person)
    Attendance.objects.create(session=StudySessionFactory(group=session.group), employee=person)
    refused("attendance_unique", lambda: Attendance.objects.create(session=session, employee=person))


# --- reports --------------------------------------------------------------------------------------


def snapshot(**fields):
    values = {"day": DAY, "eligible": 10, "met": 5, "completions": 8, "curated_completions": 4, **fields}
    return ProgressSnapshot.objects.create(**values)


def test_snapshot_unique_org_day():
    program, engineering = ProgramFactory(), org("Acme/Engineering")
    snapshot(program=program, organization=engineering)
    snapshot(program=program, organization=engineering, day=DAY + dt.timedelta(days=1))
    snapshot(program=program, organization=org("Acme/Sales"))
    refused("snapshot_unique_org_day", lambda: snapshot(program=program, organization=engineering))


def test_snapshot_unique_company_day():
    program = ProgramFactory()
    snapshot(program=program, organization=None)
    snapshot(program=program, organization=org("Acme"))
    refused("snapshot_unique_company_day", lambda: snapshot(program=program, organization=None))


def test_snapshot_met_le_eligible():
    program = ProgramFactory()
    refused("snapshot_met_le_eligible", lambda: snapshot(program=program, eligible=3, met=4))
    assert snapshot(program=program, eligible=3, met=3).pk


def test_snapshot_curated_le_all():
    program = ProgramFactory()
    refused("snapshot_curated_le_all", lambda: snapshot(program=program, completions=2, curated_completions=3))
    assert snapshot(program=program, completions=2, curated_completions=2).pk


def test_progresschange_one_row():
    ProgressChange.objects.create(pk=ProgressChange.ROW, count=3)
    refused("progresschange_one_row", lambda: ProgressChange.objects.create(pk=2))


def test_keptfigures_one_per_kind_and_kind():
    program = ProgramFactory()
    KeptFigures.objects.create(program=program, kind=KeptKind.COUNTS, day=DAY, change=1)
    KeptFigures.objects.create(program=program, kind=KeptKind.PEOPLE, day=DAY, change=1)
    KeptFigures.objects.create(program=ProgramFactory(), kind=KeptKind.COUNTS, day=DAY, change=1)
    refused(
        "keptfigures_one_per_kind",
        lambda: KeptFigures.objects.create(program=program, kind=KeptKind.COUNTS, day=DAY, change=2),
    )
    refused("keptfigures_kind", lambda: KeptFigures.objects.create(program=program, kind="rates", day=DAY, change=1))


def test_personprogress_one_per_person():
    program, person = ProgramFactory(), EmployeeFactory()

    def kept(program=program):
        return PersonProgress.objects.create(
            program=program, employee=person, organization=person.organization, counted_courses=1, met=True, position=1
        )

    kept()
    kept(program=ProgramFactory())
    refused("personprogress_one_per_person", kept)


def test_apitoken_constraints():
    from programs.models import ApiToken

    admin = EmployeeFactory()

    def token(**fields):
        values = {"name": "BI", "scope": "read", "prefix": "p1", "secret_hash": "h", "created_by": admin, **fields}
        return ApiToken.objects.create(**values)

    refused("apitoken_name_not_empty", lambda: token(name=""))
    refused("apitoken_scope_valid", lambda: token(scope="admin"))
    assert token().pk


# --- reports: communication ----------------------------------------------------------------


def test_message_settings_constraints():
    from reports.models import MessageSettings

    program = ProgramFactory()

    def settings_row(**fields):
        return MessageSettings.objects.create(program=program, **fields)

    refused("msgsettings_interval_1", lambda: settings_row(nudge_interval_days=0))
    refused("msgsettings_nudges_1", lambda: settings_row(escalate_after_nudges=0))
    refused("msgsettings_weeks_1", lambda: settings_row(escalate_after_weeks_behind=0))
    refused("msgsettings_weekday", lambda: settings_row(digest_weekday=7))
    refused("msgsettings_hours", lambda: settings_row(nudge_hour=24))
    assert settings_row(digest_weekday=6, digest_hour=23, nudge_interval_days=1).pk


def test_org_webhook_constraints():
    from reports.models import OrgWebhook

    program, sales = ProgramFactory(), org("Acme/Sales")
    OrgWebhook.objects.create(program=program, organization=sales, url="https://hooks.slack.com/services/a")
    refused(
        "orgwebhook_unique_per_org",
        lambda: OrgWebhook.objects.create(program=program, organization=sales, url="https://hooks.slack.com/b"),
    )
    refused(
        "orgwebhook_kind",
        lambda: OrgWebhook.objects.create(
            program=program, organization=org("Acme/HR"), url="https://x.example", kind="irc"
        ),
    )


def test_sent_message_and_unsubscribe_constraints():
    from reports.models import SentMessage, Unsubscribe

    program, person = ProgramFactory(), EmployeeFactory()

    def message(**fields):
        values = {"program": program, "kind": "nudge", "recipient_key": "employee:1", "period": "p/n0"}
        return SentMessage.objects.create(recipient="a@acme.example", **{**values, **fields})

    assert message().pk
    assert message(period="p/n1").pk  # valid: another period
    refused("sentmessage_unique_key", lambda: message())
    refused("sentmessage_status", lambda: message(period="p/n2", status="lost"))
    refused("sentmessage_kind", lambda: message(period="p/n3", kind="spam"))
    Unsubscribe.objects.create(employee=person, kind="nudge")
    assert Unsubscribe.objects.create(employee=person, kind="all").pk
    refused("unsubscribe_unique", lambda: Unsubscribe.objects.create(employee=person, kind="nudge"))


def test_import_job_constraints():
    from programs.models import ImportJob

    connection = ConnectionFactory()
    assert ImportJob.objects.create(kind="roster", file_name="roster.csv").pk  # valid: a roster needs no connection
    assert ImportJob.objects.create(kind="provider_csv", connection=connection, file_name="activity.csv").pk
    refused("importjob_kind", lambda: ImportJob.objects.create(kind="payroll", file_name="x.csv"))
    refused("importjob_status", lambda: ImportJob.objects.create(kind="roster", file_name="x.csv", status="lost"))
    refused(
        "importjob_provider_has_connection",
        lambda: ImportJob.objects.create(kind="provider_csv", file_name="activity.csv"),
    )


def test_milestone_constraints():
    from reports.models import Milestone

    program, engineering = ProgramFactory(), org("Acme/Engineering")
    assert Milestone.objects.create(program=program, organization=engineering, rate=0.9, reached_on=DAY).pk
    assert Milestone.objects.create(program=program, organization=None, rate=0.9, reached_on=DAY).pk
    assert Milestone.objects.create(program=program, organization=org("Acme/Sales"), rate=0.95, reached_on=DAY).pk
    refused(
        "milestone_unique_org",
        lambda: Milestone.objects.create(program=program, organization=engineering, rate=0.95, reached_on=DAY),
    )
    refused(
        "milestone_unique_company",
        lambda: Milestone.objects.create(program=program, organization=None, rate=0.95, reached_on=DAY),
    )


def test_every_named_constraint_has_a_test():
    """A constraint added to these apps without a `refused(...)` test here fails this test."""
    source = Path(__file__).read_text(encoding="utf-8")
    declared = {
        constraint.name
        for app in ("programs", "champions", "reports")
        for model in apps.get_app_config(app).get_models()
        for constraint in model._meta.constraints
    }
    untested = {name for name in declared if f'"{name}"' not in source}
    assert untested == set()
