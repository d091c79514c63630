"""The Django admin works in the browser under the strict Content-Security-Policy (no inline
script or style), for an L&D admin on the pages they use most."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import ConnectionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_pages_render_without_policy_violations(page, personas, sign_in):
    connection = ConnectionFactory(name="Coursera", client_secret="s3cret")
    sign_in(page, personas.admin)
    pages = [
        reverse("admin:index"),
        reverse("admin:programs_employee_changelist") + "?q=acme",
        reverse("admin:programs_employee_change", args=[personas.employee.pk]),
        reverse("admin:programs_employee_add"),
        reverse("admin:auth_group_changelist"),
        reverse("admin:programs_providerconnection_change", args=[connection.pk]),
        reverse("admin:programs_collection_add"),
    ]
    for address in pages:
        response = page.goto(address)
        assert response is not None and response.status == 200, address
        assert page.locator("#content").count() == 1, address
    assert "s3cret" not in page.content()
