"""The session engine (SESSION_ENGINE = "programs.sessions"): Django's database sessions,
with the signed-in employee stored on each row (`EmployeeSession.employee`), so that
`programs.access.employee_access_end` can end every session of a person at once.

This is the extension Django documents for database-backed sessions ("Extending
database-backed session engines"); everything else is Django's own engine.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls) -> Any:
        from programs.models import EmployeeSession

        return EmployeeSession

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        instance: Any = super().create_model_instance(data)
        user_id = data.get(SESSION_KEY)
        try:
            instance.employee_id = int(user_id) if user_id is not None else None
        except (TypeError, ValueError):
            instance.employee_id = None
        return instance
