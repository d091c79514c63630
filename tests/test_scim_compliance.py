"""scim2-tester, the independent SCIM compliance checker, against the live app: every check
of the features ServiceProviderConfig declares passes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from learnhub.api.services import api_token_create
from programs.models import ApiTokenScope
from tests.conftest import personas_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class FreshEmails(Sequence[str]):
    """The checker fills userName with a random string; LearnHub's userName is the
    person's e-mail address, so the checker draws it from these "examples": a new address
    each time."""

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return f"{uuid.uuid4()}@example.com"


# Every check scim2-tester 0.5.2 runs for what ServiceProviderConfig declares (`active` is
# published as required, so its PATCH add and remove checks do not run).
CHECKS_RUN = 59


def test_scim2_tester_finds_no_failure(live_server, settings):
    settings.SITE_URL = live_server.url
    personas = personas_create()
    _, raw = api_token_create(created_by=personas.admin, name="Okta", scope=ApiTokenScope.SCIM)
    http = Client(base_url=f"{live_server.url}/scim/v2", headers={"Authorization": f"Bearer {raw}"})
    client = SyncSCIMClient(http)
    client.discover()
    for resource_type in client.provider.resource_types:
        client.provider.model_for(resource_type).model_fields["user_name"].examples = FreshEmails()
    results = check_server(client)

    failed = [f"{result.title}: {result.reason}" for result in results if result.status != Status.SUCCESS]
    assert len(results) == CHECKS_RUN
    assert failed == []
