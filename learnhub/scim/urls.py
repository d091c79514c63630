"""/scim/v2/: the SCIM service provider's endpoints."""

from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

app_name = "scim"


def _view(name: str) -> Callable[..., HttpResponse]:
    """The view `name` of learnhub.scim.views, imported by the first SCIM request: scim2-models
    builds its pydantic models as it is imported (about a second of CPU), which every process
    that loads the URLs would pay otherwise (each management command runs the URL checks).
    Every SCIM view is CSRF-exempt (a token authenticates it), so this stand-in is too."""

    @csrf_exempt
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return getattr(import_module("learnhub.scim.views"), name)(request, *args, **kwargs)

    return view


urlpatterns = [
    path("ServiceProviderConfig", _view("service_provider_config"), name="service_provider_config"),
    path("ResourceTypes", _view("resource_types"), name="resource_types"),
    path("ResourceTypes/<str:name>", _view("resource_type"), name="resource_type"),
    path("Schemas", _view("schemas"), name="schemas"),
    path("Schemas/<str:schema_id>", _view("schema"), name="schema"),
    path(".search", _view("search"), name="search"),
    path("Users", _view("users"), name="users"),
    path("Users/.search", _view("search"), name="users_search"),
    path("Users/<str:user_id>", _view("user"), name="user"),
    re_path(r"^.*$", _view("not_found")),
]
