"""/scim/v2/: the SCIM service provider's endpoints."""

from django.urls import path, re_path

from learnhub.scim import views

app_name = "scim"

urlpatterns = [
    path("ServiceProviderConfig", views.service_provider_config, name="service_provider_config"),
    path("ResourceTypes", views.resource_types, name="resource_types"),
    path("ResourceTypes/<str:name>", views.resource_type, name="resource_type"),
    path("Schemas", views.schemas, name="schemas"),
    path("Schemas/<str:schema_id>", views.schema, name="schema"),
    path(".search", views.search, name="search"),
    path("Users", views.users, name="users"),
    path("Users/.search", views.search, name="users_search"),
    path("Users/<str:user_id>", views.user, name="user"),
    re_path(r"^.*$", views.not_found),
]
