"""SCIM provisioning (/scim/v2/): Okta- and Entra-style sequences end in the exact roster,
the roster CSV and SCIM agree on a person, and only a live SCIM token gets in."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from learnhub.api.services import api_token_create, api_token_revoke
from programs.models import ApiToken, ApiTokenScope, Employee, EmployeeSession
from programs.roster import roster_import
from tests.conftest import Personas

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Scim:
    def __init__(self, raw: str) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        response = getattr(self.client, method)(
            f"/scim/v2/{path}", data=json.dumps(body) if body else None, content_type="application/scim+json"
        )
        return response.status_code, response.json() if response.content else {}


@pytest.fixture
def scim(personas: Personas) -> Scim:
    _, raw = api_token_create(created_by=personas.admin, name="Identity provider", scope=ApiTokenScope.SCIM)
    return Scim(raw)


def _okta_user(email: str, *, active: bool = True) -> dict[str, Any]:
    return {
        "schemas": [USER, ENTERPRISE],
        "userName": email,
        "name": {"givenName": "Dana", "familyName": "Diaz", "formatted": "Dana Diaz"},
        "emails": [{"value": email, "primary": True, "type": "work"}],
        "title": "Engineer",
        "active": active,
        ENTERPRISE: {"employeeNumber": "E-42", "organization": "Acme", "department": "Engineering"},
    }


def _user(email: str, **enterprise: str) -> dict[str, Any]:
    """An active user with these enterprise attributes and nothing else."""
    return {"schemas": [USER, ENTERPRISE], "userName": email, "active": True, ENTERPRISE: enterprise}


def _roster(email: str) -> tuple[Any, ...]:
    employee = Employee.objects.select_related("organization", "manager").get(email=email)
    return (
        employee.full_name,
        employee.external_id,
        employee.organization.path if employee.organization else None,
        employee.title,
        employee.manager.email if employee.manager else None,
        employee.departed_on,
        employee.is_active,
    )


def test_okta_sequence_create_deactivate_reactivate(scim, personas, django_capture_on_commit_callbacks):
    status, created = scim.call("post", "Users", _okta_user("Dana@Acme.example"))
    assert status == 201
    assert created["userName"] == "dana@acme.example"
    assert created[ENTERPRISE]["department"] == "Engineering"
    assert _roster("dana@acme.example") == ("Dana Diaz", "E-42", "Acme/Engineering", "Engineer", None, None, True)

    dana = Employee.objects.get(email="dana@acme.example")
    personas.client_for(dana)
    # A token Dana made while she was an L&D admin (she no longer is: only her token matters).
    dana_token, _ = api_token_create(created_by=personas.admin, name="x", scope=ApiTokenScope.READ)
    ApiToken.objects.filter(pk=dana_token.pk).update(created_by=dana)

    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    with django_capture_on_commit_callbacks(execute=True):
        status, body = scim.call("patch", f"Users/{created['id']}", deactivate)
    today = timezone.localdate()
    assert (status, body["active"]) == (200, False)
    assert _roster("dana@acme.example") == ("Dana Diaz", "E-42", "Acme/Engineering", "Engineer", None, today, True)
    assert EmployeeSession.objects.filter(employee=dana).count() == 0
    assert ApiToken.objects.get(name="x").revoked_at is not None

    reactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": True}]}
    status, body = scim.call("patch", f"Users/{created['id']}", reactivate)
    assert (status, body["active"]) == (200, True)
    assert _roster("dana@acme.example") == ("Dana Diaz", "E-42", "Acme/Engineering", "Engineer", None, None, True)


def test_entra_sequence_with_manager_and_path_patches(scim, personas):
    status, created = scim.call(
        "post",
        "Users",
        {
            "schemas": [USER, ENTERPRISE],
            "externalId": "entra-object-1",
            "userName": "erin@acme.example",
            "active": True,
            "displayName": "Erin Entra",
            "emails": [{"primary": True, "type": "work", "value": "erin@acme.example"}],
            ENTERPRISE: {"department": "Sales", "manager": {"value": str(personas.outsider.pk)}},
        },
    )
    assert (status, created.get("detail")) == (201, None)
    # No organization attribute: the department alone is the path (one level).
    assert _roster("erin@acme.example") == (
        "Erin Entra",
        "entra-object-1",
        "Sales",
        "",
        "charlie@acme.example",
        None,
        True,
    )
    status, found = scim.call("get", 'Users?filter=userName eq "ERIN@acme.example"')
    assert (status, found["totalResults"], found["Resources"][0]["id"]) == (200, 1, created["id"])

    entra_disable = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Replace", "path": "active", "value": False},
            {"op": "Add", "path": "title", "value": "Account manager"},
        ],
    }
    status, body = scim.call("patch", f"Users/{created['id']}", entra_disable)
    assert (status, body["active"], body["title"]) == (200, False, "Account manager")
    assert _roster("erin@acme.example")[5] == timezone.localdate()

    enable = {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": True}]}
    enable["Operations"].append({"op": "Remove", "path": f"{ENTERPRISE}:manager"})
    status, body = scim.call("patch", f"Users/{created['id']}", enable)
    assert status == 200
    assert _roster("erin@acme.example") == (
        "Erin Entra",
        "entra-object-1",
        "Sales",
        "Account manager",
        None,
        None,
        True,
    )


def test_delete_departs_and_hides_the_person(scim, personas):
    status, _ = scim.call("delete", f"Users/{personas.employee.pk}")
    assert status == 204
    assert _roster("bob@acme.example")[5:] == (timezone.localdate(), False)
    assert scim.call("get", f"Users/{personas.employee.pk}")[0] == 404


def test_roster_csv_and_scim_agree_on_a_person(scim, personas):
    csv = (
        "email,full_name,external_id,organization,title,manager_email\n"
        "bob@acme.example,Bob Builder,E-7,Acme/Engineering/Platform,SRE,alice@acme.example\n"
    )
    assert roster_import(file=io.BytesIO(csv.encode())).applied
    status, bob = scim.call("get", f"Users/{personas.employee.pk}")
    assert status == 200
    assert (bob["userName"], bob["name"]["formatted"], bob["title"], bob["active"]) == (
        "bob@acme.example",
        "Bob Builder",
        "SRE",
        True,
    )
    assert bob[ENTERPRISE] == {
        "employeeNumber": "E-7",
        "organization": "Acme",
        "department": "Engineering/Platform",
        "manager": {"value": str(personas.admin.pk), "$ref": f"{settings.SITE_URL}/scim/v2/Users/{personas.admin.pk}"},
    }
    # What SCIM writes back unchanged is the same roster: the CSV import then has nothing to do.
    assert scim.call("put", f"Users/{personas.employee.pk}", bob)[0] == 200
    result = roster_import(file=io.BytesIO(csv.encode()))
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)


def test_filters_paging_and_errors(scim, personas):
    status, page = scim.call("get", "Users?startIndex=2&count=2")
    assert (status, page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (
        200,
        Employee.objects.count(),
        2,
        2,
    )
    status, found = scim.call("get", 'Users?filter=emails.value eq "bob@acme.example"')
    assert [user["userName"] for user in found["Resources"]] == ["bob@acme.example"]
    status, error = scim.call("get", 'Users?filter=title co "x"')
    assert (status, error["scimType"]) == (400, "invalidFilter")
    status, error = scim.call("post", "Users", _okta_user("bob@acme.example"))
    assert (status, error["scimType"], error["schemas"]) == (
        409,
        "uniqueness",
        ["urn:ietf:params:scim:api:messages:2.0:Error"],
    )
    assert scim.call("get", "Users/999999")[0] == 404


@pytest.mark.parametrize("token", ["none", "read-write", "revoked"])
def test_only_a_live_scim_token_provisions(personas, token):
    headers = {}
    if token == "read-write":
        _, raw = api_token_create(created_by=personas.admin, name="API", scope=ApiTokenScope.READ_WRITE)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    elif token == "revoked":
        scim_token, raw = api_token_create(created_by=personas.admin, name="Old", scope=ApiTokenScope.SCIM)
        api_token_revoke(token=scim_token)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    before = list(Employee.objects.order_by("pk").values_list("email", "departed_on", "is_active"))
    client = Client(**headers)
    created = client.post(
        "/scim/v2/Users", json.dumps(_okta_user("eve@acme.example")), content_type="application/scim+json"
    )
    deleted = client.delete(f"/scim/v2/Users/{personas.employee.pk}")
    assert (created.status_code, deleted.status_code) == (401, 401)
    assert created.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert list(Employee.objects.order_by("pk").values_list("email", "departed_on", "is_active")) == before


def test_a_scim_token_cannot_use_the_api(scim, personas):
    response = scim.client.get("/api/v1/employees/")
    assert response.status_code == 403


def test_post_search_answers_as_get(scim, personas):
    query = {"filter": 'emails.value eq "bob@acme.example"', "startIndex": 1, "count": 5}
    by_get = scim.call("get", 'Users?filter=emails.value eq "bob@acme.example"&startIndex=1&count=5')
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], **query}
    assert scim.call("post", "Users/.search", search) == by_get
    assert scim.call("post", ".search", search) == by_get
    assert [user["userName"] for user in by_get[1]["Resources"]] == ["bob@acme.example"]

    status, page = scim.call("post", ".search", {"startIndex": 2, "count": 2, "attributes": ["userName"]})
    assert (status, page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (
        200,
        Employee.objects.count(),
        2,
        2,
    )
    assert {tuple(sorted(user)) for user in page["Resources"]} == {("id", "schemas", "userName")}
    status, error = scim.call("post", "Users/.search", {"filter": 'title co "x"'})
    assert (status, error["scimType"]) == (400, "invalidFilter")
    status, error = scim.call("post", "Users/.search", {"count": "many"})
    assert (status, error["scimType"]) == (400, "invalidSyntax")


def _patch(scim: Scim, user_id: str, *operations: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return scim.call("patch", f"Users/{user_id}", {"schemas": [PATCH], "Operations": list(operations)})


def test_patch_remove_clears_the_external_id_and_organization_levels(scim, personas):
    status, dana = scim.call("post", "Users", _okta_user("dana@acme.example"))
    assert (status, dana["externalId"], dana[ENTERPRISE]["employeeNumber"]) == (201, "E-42", "E-42")

    # externalId and employeeNumber are the one external id: removing either clears it.
    status, body = _patch(scim, dana["id"], {"op": "remove", "path": "externalId"})
    assert (status, "externalId" in body, "employeeNumber" in body[ENTERPRISE]) == (200, False, False)
    assert _roster("dana@acme.example")[1:3] == ("", "Acme/Engineering")
    _patch(scim, dana["id"], {"op": "add", "path": "externalId", "value": "E-43"})
    status, body = _patch(scim, dana["id"], {"op": "remove", "path": f"{ENTERPRISE}:employeeNumber"})
    assert (status, "externalId" in body) == (200, False)
    assert _roster("dana@acme.example")[1] == ""

    # An organization attribute removed takes its level and the deeper ones with it.
    status, body = _patch(scim, dana["id"], {"op": "remove", "path": f"{ENTERPRISE}:department"})
    assert (status, body[ENTERPRISE]) == (200, {"organization": "Acme"})
    assert _roster("dana@acme.example")[2] == "Acme"
    _patch(scim, dana["id"], {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Sales"})
    assert _roster("dana@acme.example")[2] == "Acme/Sales"
    status, body = _patch(scim, dana["id"], {"op": "remove", "path": f"{ENTERPRISE}:organization"})
    # No level left: the default organization, which SCIM reads back as no organization.
    assert (status, ENTERPRISE in body) == (200, False)
    assert _roster("dana@acme.example") == ("Dana Diaz", "", "Unassigned", "Engineer", None, None, True)


def test_patch_remove_of_the_enterprise_extension_clears_its_roster_fields(scim, personas):
    status, dana = scim.call("post", "Users", _okta_user("dana@acme.example"))
    manager = {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": str(personas.admin.pk)}}
    assert _patch(scim, dana["id"], manager)[0] == 200
    assert _roster("dana@acme.example")[1:5] == ("E-42", "Acme/Engineering", "Engineer", "alice@acme.example")

    status, body = _patch(scim, dana["id"], {"op": "remove", "path": ENTERPRISE})
    assert (status, ENTERPRISE in body, "externalId" in body) == (200, False, False)
    assert _roster("dana@acme.example") == ("Dana Diaz", "", "Unassigned", "Engineer", None, None, True)
    assert ENTERPRISE not in scim.call("get", f"Users/{dana['id']}")[1]


def test_active_is_required_and_cannot_be_removed(scim, personas):
    status, schema = scim.call("get", f"Schemas/{USER}")
    active = next(attribute for attribute in schema["attributes"] if attribute["name"] == "active")
    assert (status, active["required"]) == (200, True)

    _patch(scim, str(personas.employee.pk), {"op": "replace", "path": "active", "value": False})
    before = _roster("bob@acme.example")
    status, error = _patch(scim, str(personas.employee.pk), {"op": "remove", "path": "active"})
    assert (status, error["scimType"]) == (400, "mutability")
    assert _roster("bob@acme.example") == before
    assert before[5] == timezone.localdate()


def test_an_identity_provider_that_sends_the_department_alone_reads_it_back_as_sent(scim, personas):
    """Entra ID's default mappings send `department` and no `organization`; its next cycle
    compares what it reads back and patches what differs."""
    status, created = scim.call("post", "Users", _user("erin@acme.example", department="Sales"))
    assert (status, created[ENTERPRISE]) == (201, {"department": "Sales"})
    assert scim.call("get", f"Users/{created['id']}")[1][ENTERPRISE] == {"department": "Sales"}

    status, body = _patch(scim, created["id"], {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Sales"})
    assert (status, body[ENTERPRISE], _roster("erin@acme.example")[2]) == (200, {"department": "Sales"}, "Sales")

    status, body = _patch(scim, created["id"], {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Ops"})
    assert (status, body[ENTERPRISE], _roster("erin@acme.example")[2]) == (200, {"department": "Ops"}, "Ops")

    # Another way in to the roster (the HR file) moves her: SCIM reads the new path back by level.
    assert roster_import(file=io.BytesIO(b"email,full_name,organization\nerin@acme.example,Erin,Acme/Sales\n")).applied
    status, found = scim.call("get", f"Users/{created['id']}")
    assert found[ENTERPRISE] == {"organization": "Acme", "department": "Sales"}


def test_an_identity_provider_that_sends_the_organization_alone_reads_it_back_as_sent(scim, personas):
    status, created = scim.call("post", "Users", _user("olli@acme.example", organization="Acme"))
    assert (status, created[ENTERPRISE]) == (201, {"organization": "Acme"})

    status, body = _patch(scim, created["id"], {"op": "Replace", "path": f"{ENTERPRISE}:organization", "value": "Acme"})
    assert (status, body[ENTERPRISE], _roster("olli@acme.example")[2]) == (200, {"organization": "Acme"}, "Acme")


def test_a_person_whose_attributes_were_never_recorded_is_not_nested_by_a_department_patch(scim, personas):
    """Provisioned before LearnHub kept what the identity provider sends: read back one level
    per attribute (`organization: Sales`), then patched with the department Entra ID sends."""
    status, created = scim.call("post", "Users", _user("erin@acme.example", department="Sales"))
    Employee.objects.filter(pk=created["id"]).update(scim_organization={})
    assert scim.call("get", f"Users/{created['id']}")[1][ENTERPRISE] == {"organization": "Sales"}

    status, body = _patch(scim, created["id"], {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Sales"})
    assert (status, body[ENTERPRISE], _roster("erin@acme.example")[2]) == (200, {"department": "Sales"}, "Sales")

    # A department that is not the whole path moves them as before, below the organization read back.
    Employee.objects.filter(pk=created["id"]).update(scim_organization={})
    status, body = _patch(scim, created["id"], {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "EMEA"})
    assert (status, _roster("erin@acme.example")[2]) == (200, "Sales/EMEA")
