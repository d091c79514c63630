"""/scim/v2/ views: check the SCIM token, parse the request (scim2-models), call the roster
(programs.roster), serialise the answer. Errors are SCIM Error objects (RFC 7644 §3.12)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from rest_framework import authentication
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Error,
    ETag,
    Filter,
    InvalidFilterException,
    InvalidSyntaxException,
    ListResponse,
    Meta,
    NotFoundException,
    Patch,
    PatchOp,
    ResourceType,
    SCIMException,
    ServiceProviderConfig,
    Sort,
    UniquenessException,
)

from learnhub.api.services import api_token_find, api_token_touch
from learnhub.roles import can_provision_scim
from learnhub.scim.resources import (
    ScimUser,
    organization_sent,
    response_parameters,
    roster_values,
    scim_schemas,
    user_dump,
    user_of,
    user_parse,
)
from learnhub.scim.services import scim_person_save
from programs.models import Employee
from programs.roster import RosterImportResult, roster_person_remove

CONTENT_TYPE = "application/scim+json"
MAX_PAGE_SIZE = 200
# The filters the Users endpoint answers (RFC 7644 §3.4.2.2): one `eq` on one of these.
FILTER = re.compile(r'^\s*(userName|externalId|emails\.value|emails)\s+eq\s+("(?:[^"\\]|\\.)*")\s*$', re.IGNORECASE)
FILTER_FIELDS = {"username": "email__iexact", "externalid": "external_id", "emails.value": "email__iexact"}
FILTER_FIELDS["emails"] = FILTER_FIELDS["emails.value"]


def _response(payload: dict[str, Any], *, status: int = 200) -> JsonResponse:
    return JsonResponse(payload, status=status, content_type=CONTENT_TYPE)


def _error(exception: SCIMException) -> JsonResponse:
    return _error_object(exception.to_error())


def _error_object(error: Error) -> JsonResponse:
    return _response(error.model_dump(), status=error.status or 400)


def scim_view(*methods: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Every SCIM endpoint: a live SCIM-scope token of an L&D admin (learnhub.roles
    .can_provision_scim), else 401; another method than `methods`, 405; a SCIMException
    raised by the view becomes its error."""
    return functools.partial(_scim_view, methods=methods)


def _scim_view(view: Callable[..., HttpResponse], *, methods: tuple[str, ...]) -> Callable[..., HttpResponse]:
    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        header = authentication.get_authorization_header(request).split()
        token = None
        if len(header) == 2 and header[0].lower() == b"bearer":
            token = api_token_find(raw=header[1].decode("ascii", errors="replace"))
        if not can_provision_scim(token):
            response = _error_object(Error(status=401, detail="Send a live SCIM token: Authorization: Bearer <token>."))
            response["WWW-Authenticate"] = 'Bearer realm="scim"'
            return response
        assert token is not None  # noqa: S101  # can_provision_scim checked it
        api_token_touch(token=token)
        if request.method not in methods:
            return _error_object(Error(status=405, detail=f"Use {' or '.join(methods)}."))
        try:
            return view(request, *args, **kwargs)
        except SCIMException as exc:
            return _error(exc)
        except ValidationError as exc:
            return _error_object(Error.from_validation_errors(exc)[0])

    return wrapper


def _url(name: str, *args: str) -> str:
    return settings.SITE_URL + reverse(name, args=args)


def _resource_type() -> ResourceType:
    resource_type = ResourceType.from_resource(ScimUser)
    resource_type.meta = Meta(resource_type="ResourceType", location=_url("scim:resource_type", "User"))
    return resource_type


def _list(resources: list[dict[str, Any]]) -> JsonResponse:
    return _response(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(resources),
            "startIndex": 1,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


@scim_view("GET")
def service_provider_config(request: HttpRequest) -> JsonResponse:
    config = ServiceProviderConfig(
        documentation_uri=settings.SITE_URL + "/api/docs/",
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_PAGE_SIZE),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A SCIM token an L&D admin creates at /api/tokens/.",
                primary=True,
            )
        ],
    )
    return _response(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@scim_view("GET")
def resource_types(request: HttpRequest) -> JsonResponse:
    return _list([_resource_type().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)])


@scim_view("GET")
def resource_type(request: HttpRequest, name: str) -> JsonResponse:
    if name != "User":
        raise NotFoundException(detail=f"No resource type {name}.")
    return _response(_resource_type().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _schemas() -> dict[str, dict[str, Any]]:
    dumped = {}
    for schema in scim_schemas():
        schema.meta = Meta(resource_type="Schema", location=_url("scim:schema", schema.id or ""))
        dumped[schema.id or ""] = schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return dumped


@scim_view("GET")
def schemas(request: HttpRequest) -> JsonResponse:
    return _list(list(_schemas().values()))


@scim_view("GET")
def schema(request: HttpRequest, schema_id: str) -> JsonResponse:
    found = _schemas().get(schema_id)
    if found is None:
        raise NotFoundException(detail=f"No schema {schema_id}.")
    return _response(found)


@scim_view("GET", "POST", "PUT", "PATCH", "DELETE")
def not_found(request: HttpRequest) -> JsonResponse:
    raise NotFoundException(detail=f"No SCIM endpoint at {request.path}.")


def _provisioned() -> QuerySet[Employee]:
    """The people SCIM serves: every roster person whose account was not deleted."""
    return Employee.objects.filter(is_active=True).select_related("organization").order_by("pk")


def _payload(request: HttpRequest) -> dict[str, Any]:
    try:
        payload = json.loads(request.body)
    except ValueError:
        raise InvalidSyntaxException(detail="The body is not JSON.") from None
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    return payload


def _written(result: RosterImportResult, *, email: str) -> JsonResponse | Employee:
    """The person the roster wrote, or the roster's refusal as a SCIM error (409 for a
    value another person holds, else 400)."""
    if result.errors:
        reasons = "; ".join(error.reason for error in result.errors)
        if "duplicate" in reasons:
            return _error(UniquenessException(detail=reasons))
        return _error_object(Error(status=400, scim_type="invalidValue", detail=reasons))
    return Employee.objects.select_related("organization").get(email__iexact=email)


@scim_view("GET", "POST")
def users(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        user = user_parse(_payload(request), context=Context.RESOURCE_CREATION_REQUEST)
        values = roster_values(user, stored=None)
        if Employee.objects.filter(email__iexact=values["email"]).exists():
            raise UniquenessException(detail=f"{values['email']} is already on the roster.")
        _, organization = organization_sent(user, stored=None)
        saved = scim_person_save(values=values, organization=organization)
        written = _written(saved, email=values["email"])
        if isinstance(written, JsonResponse):
            return written
        response = _response(user_dump(user_of(written)), status=201)
        response["Location"] = _url("scim:user", str(written.pk))
        return response
    return _search(request.GET)


@scim_view("POST")
def search(request: HttpRequest) -> JsonResponse:
    """POST /.search and /Users/.search (RFC 7644 §3.4.3): the query of GET /Users sent as
    a SearchRequest body. Users are the only resource type, so both search them."""
    payload = _payload(request)
    parameters: dict[str, str] = {}
    for name in ("filter", "startIndex", "count", "attributes", "excludedAttributes"):
        value = payload.get(name)
        if isinstance(value, list) and name in ("attributes", "excludedAttributes"):
            value = ",".join(str(item) for item in value)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidSyntaxException(detail=f"{name} has the wrong type.")
        parameters[name] = str(value)
    return _search(parameters)


def _search(parameters: Mapping[str, str]) -> JsonResponse:
    """The page of provisioned people that `parameters` (GET /Users's query: filter,
    startIndex, count, attributes, excludedAttributes) asks for."""
    people = _provisioned()
    query = parameters.get("filter")
    if query:
        match = FILTER.match(query)
        if match is None:
            raise InvalidFilterException(detail='Filters: userName, externalId or emails.value eq "value".')
        people = people.filter(**{FILTER_FIELDS[match[1].lower()]: json.loads(match[2])})
    start = max(_int_param(parameters, "startIndex", 1), 1)
    count = min(max(_int_param(parameters, "count", MAX_PAGE_SIZE), 0), MAX_PAGE_SIZE)
    total = people.count()
    page = list(people[start - 1 : start - 1 + count]) if count else []
    listing = ListResponse[ScimUser](
        total_results=total,
        start_index=start,
        items_per_page=len(page),
        resources=[user_of(employee) for employee in page],
    )
    return _response(
        listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=response_parameters(parameters))
    )


def _int_param(parameters: Mapping[str, str], name: str, default: int) -> int:
    value = parameters.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise InvalidSyntaxException(detail=f"{name} must be a whole number.") from None


@scim_view("GET", "PUT", "PATCH", "DELETE")
def user(request: HttpRequest, user_id: str) -> HttpResponse:
    employee = _provisioned().filter(pk=int(user_id)).first() if user_id.isdigit() else None
    if employee is None:
        raise NotFoundException(detail=f"No user {user_id}.")
    if request.method == "GET":
        return _response(user_dump(user_of(employee), response_parameters(request.GET)))
    if request.method == "DELETE":
        removed = _written(roster_person_remove(employee=employee), email=employee.email)
        return removed if isinstance(removed, JsonResponse) else HttpResponse(status=204)
    before = None
    if request.method == "PUT":
        user = user_parse(_payload(request), context=Context.RESOURCE_REPLACEMENT_REQUEST)
    else:
        patch = PatchOp[ScimUser].model_validate(_payload(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        before, user = user_of(employee), user_of(employee)
        patch.patch(user)
    values = roster_values(user, stored=employee, before=before)
    _, organization = organization_sent(user, stored=employee, before=before)
    written = _written(
        scim_person_save(values=values, organization=organization, employee=employee), email=values["email"]
    )
    if isinstance(written, JsonResponse):
        return written
    return _response(user_dump(user_of(written)))
