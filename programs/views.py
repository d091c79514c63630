from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from learnhub.roles import current_program


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "programs/home.html", {"program": current_program()})
