"""The SCIM User resource of a roster person, and back: parsing and serialising only.

Attribute mapping (README, "SCIM provisioning"):

    userName, emails[primary].value    -> email (the sign-in name; stored lower-case)
    name.formatted, displayName        -> full_name
    title                              -> title
    externalId, enterprise employeeNumber -> external_id (employeeNumber wins)
    enterprise SCIM_ORGANIZATION_ATTRIBUTES (default organization, department)
                                       -> the organization path, one level each, in order;
                                          none: SCIM_DEFAULT_ORGANIZATION; read back as sent
    enterprise manager.value           -> manager (the SCIM id of another person)
    active (published as required)     -> departed_on (false: today; true: none)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from scim2_models import (
    Context,
    Email,
    EnterpriseUser,
    InvalidValueException,
    Manager,
    Meta,
    Mutability,
    MutabilityException,
    Name,
    Required,
    ResponseParameters,
    Schema,
    User,
)

from programs.models import PATH_SEPARATOR, Employee
from programs.organizations import organization_path_split

ScimUser = User[EnterpriseUser]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# The attributes LearnHub keeps; the published schemas list only these, so an identity
# provider (and the compliance checker) never sends a value that would be dropped.
USER_ATTRIBUTES = {
    "userName": None,
    "name": {"formatted"},
    "title": None,
    "active": None,
    "emails": {"value", "primary"},
}
# The address is the userName: `emails` is published read-only, one primary value.
READ_ONLY_ATTRIBUTES = {"emails"}
# Every roster person is active or departed: `active` cannot be removed (RFC 7644 §3.5.2.2).
REQUIRED_ATTRIBUTES = {"active"}
ENTERPRISE_ATTRIBUTES = {"employeeNumber": None, "manager": {"value", "$ref"}}


def scim_schemas() -> list[Schema]:
    """The User schema and the enterprise extension, cut to the attributes kept."""
    organization_attributes = dict.fromkeys(settings.SCIM_ORGANIZATION_ATTRIBUTES)
    return [
        _schema_cut(User.to_schema(), USER_ATTRIBUTES),
        _schema_cut(EnterpriseUser.to_schema(), {**ENTERPRISE_ATTRIBUTES, **organization_attributes}),
    ]


def _schema_cut(schema: Schema, keep: dict[str, set[str] | None]) -> Schema:
    attributes = []
    for attribute in schema.attributes or []:
        if attribute.name not in keep:
            continue
        subs = keep[attribute.name]
        if subs is not None:
            attribute.sub_attributes = [sub for sub in attribute.sub_attributes or [] if sub.name in subs]
        if attribute.name in REQUIRED_ATTRIBUTES:
            attribute.required = Required.true
        if attribute.name in READ_ONLY_ATTRIBUTES:
            attribute.mutability = Mutability.read_only
            for sub in attribute.sub_attributes or []:
                sub.mutability = Mutability.read_only
        attributes.append(attribute)
    schema.attributes = attributes
    return schema


def user_of(employee: Employee) -> ScimUser:
    """`employee` as a SCIM User. The organization attributes are read back as the identity
    provider last sent them (`Employee.scim_organization`) while they still make up the
    person's path; otherwise (the HR file moved them, or no identity provider sent any)
    through the mapping: one attribute per level, the last one taking the deeper levels. A
    person in SCIM_DEFAULT_ORGANIZATION has no organization attribute, as when it was never
    sent. The enterprise extension is left out when none of its attributes has a value."""
    names = settings.SCIM_ORGANIZATION_ATTRIBUTES
    path = employee.organization.path if employee.organization else ""
    parts = organization_path_split(path) if path != _default_organization() else []
    sent = {name: employee.scim_organization[name] for name in names if employee.scim_organization.get(name)}
    enterprise = EnterpriseUser(employee_number=employee.external_id or None)
    if employee.manager_id:
        enterprise.manager = Manager.model_validate(
            {"value": str(employee.manager_id), "$ref": _location(employee.manager_id)}
        )
    if sent and _path_parts(sent.values()) == parts:  # as the identity provider sent them
        for name, value in sent.items():
            setattr(enterprise, _field(name), value)
    else:
        for index, name in enumerate(names):
            levels = parts[index:] if index == len(names) - 1 else parts[index : index + 1]
            if levels:
                setattr(enterprise, _field(name), PATH_SEPARATOR.join(levels))
    user = ScimUser(
        id=str(employee.pk),
        external_id=employee.external_id or None,
        user_name=employee.email,
        name=Name(formatted=employee.full_name) if employee.full_name else None,
        title=employee.title or None,
        emails=[Email(value=employee.email, primary=True)],
        active=not employee.has_departed(timezone.localdate()),
        meta=Meta(
            resource_type="User",
            created=employee.date_joined,
            last_modified=employee.date_joined,
            location=_location(employee.pk),
        ),
    )
    if enterprise.model_dump(exclude_none=True, exclude={"schemas"}):
        user[EnterpriseUser] = enterprise
    return user


def _default_organization() -> str:
    return PATH_SEPARATOR.join(organization_path_split(settings.SCIM_DEFAULT_ORGANIZATION))


def _location(pk: int | str) -> str:
    return settings.SITE_URL + reverse("scim:user", args=[pk])


def response_parameters(query: Mapping[str, str]) -> ResponseParameters[ScimUser]:
    """The `attributes` / `excludedAttributes` a request asks the answer to keep or drop."""
    return ResponseParameters[ScimUser].model_validate(
        {name: query[name] for name in ("attributes", "excludedAttributes") if query.get(name)}
    )


def user_dump(user: ScimUser, parameters: ResponseParameters[ScimUser] | None = None) -> dict[str, Any]:
    return user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters)


def user_parse(payload: dict[str, Any], *, context: Context) -> ScimUser:
    """The User of a request. A manager sent by its id alone (as Entra ID does) gets the
    `$ref` that scim2-models requires."""
    manager = payload.get(ENTERPRISE, {}).get("manager") if isinstance(payload.get(ENTERPRISE), dict) else None
    if isinstance(manager, dict) and manager.get("value") and "$ref" not in manager:
        manager["$ref"] = _location(manager["value"])
    return ScimUser.model_validate(payload, scim_ctx=context)


def roster_values(user: ScimUser, *, stored: Employee | None, before: ScimUser | None = None) -> dict[str, str]:
    """The roster row (programs.roster columns) that `user` asks for. A person sent
    without any organization attribute keeps the stored one (a new person gets
    SCIM_DEFAULT_ORGANIZATION); one sent without `active` keeps their departure.

    `before` is, for a PATCH, the User its operations were applied to. Removing
    `externalId` or `employeeNumber` clears the external id (both stand for it: the one
    the PATCH changed wins, `employeeNumber` if both); removing an organization attribute
    removes its level and every deeper one (none left: SCIM_DEFAULT_ORGANIZATION);
    removing `active` is refused (MutabilityException): a person is active or departed."""
    if before is not None and user.active is None:
        raise MutabilityException(
            detail="active cannot be removed: a person is active or departed. Replace it with false for a departure."
        )
    email = user.user_name or ""
    if not email and user.emails:
        email = next((item.value for item in user.emails if item.primary), user.emails[0].value) or ""
    full_name = (user.name.formatted if user.name else None) or user.display_name or ""
    enterprise = _enterprise(user)
    employee_number = enterprise.employee_number if enterprise else None
    if before is not None and employee_number != _enterprise_value(before, "employeeNumber"):
        external_id = employee_number or ""
    elif before is not None and user.external_id != before.external_id:
        external_id = user.external_id or ""
    else:
        external_id = employee_number or user.external_id or ""
    path, _ = organization_sent(user, stored=stored, before=before)
    values = {
        "email": email,
        "full_name": full_name,
        "external_id": external_id,
        "organization": path,
        "title": user.title or "",
        "manager_email": _manager_email(enterprise.manager.value if enterprise and enterprise.manager else None),
    }
    if user.active is not None:
        today = timezone.localdate()
        if user.active:
            values["departed_on"] = ""
        elif stored is not None and stored.has_departed(today):
            values["departed_on"] = stored.departed_on.isoformat()  # type: ignore[union-attr]
        else:
            values["departed_on"] = today.isoformat()
    return values


def organization_sent(
    user: ScimUser, *, stored: Employee | None, before: ScimUser | None = None
) -> tuple[str, dict[str, str]]:
    """The organization path `user` asks for, and the attributes to keep with it
    (`Employee.scim_organization`): those it sends (`_organization_levels`); when it sends
    and removes none, the stored person's path and attributes, unchanged; else
    SCIM_DEFAULT_ORGANIZATION and none."""
    removed = _organization_removed(user, before=before)
    levels = _organization_levels(user, stored=stored, before=before, removed=removed)
    if levels:
        return PATH_SEPARATOR.join(_path_parts(levels.values())), levels
    if stored is not None and stored.organization is not None and not removed:
        return stored.organization.path, dict(stored.scim_organization)
    return settings.SCIM_DEFAULT_ORGANIZATION, {}


def _organization_levels(
    user: ScimUser, *, stored: Employee | None, before: ScimUser | None, removed: list[str]
) -> dict[str, str]:
    """The organization attributes `user` sends (attribute -> value, in
    SCIM_ORGANIZATION_ATTRIBUTES order): for a PATCH (`before`), those before the first
    one it `removed`.

    A person whose attributes were never recorded (provisioned before they were, or moved
    by the HR file) was read back one level per attribute, which may not be how their
    identity provider sends them (Entra ID's defaults send `department` alone): a PATCH
    that sets attributes to exactly their current path re-states it, and those attributes
    alone are theirs."""
    names = settings.SCIM_ORGANIZATION_ATTRIBUTES
    if removed:
        names = names[: names.index(removed[0])]
    values = {name: (_enterprise_value(user, name) or "").strip() for name in names}
    levels = {name: level for name, level in values.items() if _path_parts([level])}
    if before is not None and stored is not None and stored.organization is not None and not stored.scim_organization:
        changed = {name: level for name, level in levels.items() if level != _enterprise_value(before, name)}
        if changed and _path_parts(changed.values()) == organization_path_split(stored.organization.path):
            return changed
    return levels


def _organization_removed(user: ScimUser, *, before: ScimUser | None) -> list[str]:
    """The organization attributes a PATCH removed (set `before`, absent now)."""
    if before is None:
        return []
    names = settings.SCIM_ORGANIZATION_ATTRIBUTES
    return [name for name in names if _enterprise_value(before, name) and not _enterprise_value(user, name)]


def _path_parts(levels: Iterable[str]) -> list[str]:
    return [part for level in levels for part in organization_path_split(level)]


def _enterprise(user: ScimUser) -> EnterpriseUser | None:
    try:
        return user[EnterpriseUser]
    except KeyError:
        return None


def _enterprise_value(user: ScimUser, attribute: str) -> str | None:
    enterprise = _enterprise(user)
    value = getattr(enterprise, _field(attribute), None) if enterprise is not None else None
    return str(value) if value else None


def _manager_email(scim_id: str | None) -> str:
    if not scim_id:
        return ""
    manager = Employee.objects.filter(pk=int(scim_id), is_active=True).first() if scim_id.isdigit() else None
    if manager is None:
        raise InvalidValueException(detail=f"The manager {scim_id} is not a provisioned person.")
    return manager.email


def _field(attribute: str) -> str:
    """The scim2-models field of an enterprise attribute name (employeeNumber -> employee_number)."""
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in attribute)
