from django.http import HttpRequest

from learnhub.roles import request_program, roles_for


def navigation(request: HttpRequest) -> dict[str, object]:
    """The current program and the signed-in person's roles, for the navigation bar
    (nothing for a request that failed before the authentication middleware ran)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    program = request_program(request)
    return {"nav_program": program, "nav_roles": roles_for(request.user, program)}
