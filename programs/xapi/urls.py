"""The xAPI addresses of a connection of kind xapi, included under /xapi/ (namespace xapi).
No trailing slashes: xAPI clients append `statements` and `about` to the endpoint."""

from django.urls import path

from programs.xapi import views

app_name = "xapi"

urlpatterns = [
    path("<int:connection_id>/statements", views.statements, name="statements"),
    path("<int:connection_id>/oauth2/token", views.token, name="token"),
    path("<int:connection_id>/about", views.about, name="about"),
]
