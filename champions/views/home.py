"""The employee home (/): my status, my organization's progress and rank, my collections,
study groups to join, updates and stories."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from champions.selectors import home_page
from learnhub.roles import current_program, team_of
from programs.models import Employee


@login_required
def home(request: HttpRequest) -> HttpResponse:
    program = current_program(request.user)
    user = request.user
    page = home_page(program=program, employee=user) if program and isinstance(user, Employee) else None
    manages = team_of(user).exists()
    return render(request, "champions/home.html", {"program": program, "page": page, "manages": manages})
