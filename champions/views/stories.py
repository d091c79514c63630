"""My learner stories: share with consent, edit, withdraw, share again."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from champions import selectors, services
from champions.forms import (
    LearnerStoryForm,
)
from champions.models import LearnerStory
from champions.views._common import form_errors, program_or_404, signed_in_employee


@login_required
def my_stories(request: HttpRequest) -> HttpResponse:
    program = program_or_404()
    me = signed_in_employee(request)
    form = LearnerStoryForm(
        request.POST if request.method == "POST" else None, courses=selectors.program_courses(program=program)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.learner_story_save(
                story=None,
                program=program,
                employee=me,
                title=data["title"],
                body=data["body"],
                course=data["course"],
                consent_to_share=data["consent_to_share"],
            )
        except ValidationError as error:
            form_errors(form, error)
        else:
            messages.success(request, "Thank you: your story is saved.")
            return redirect("champions:my_stories")
    stories = LearnerStory.objects.filter(employee=me, program=program).select_related("course")
    return render(request, "champions/my_stories.html", {"form": form, "stories": stories, "program": program})


def _my_story(request: HttpRequest, pk: int) -> LearnerStory:
    """Only the author edits or withdraws a story; anyone else gets 404 (it may be private)."""
    return get_object_or_404(LearnerStory, pk=pk, employee_id=request.user.pk)


@login_required
def story_edit(request: HttpRequest, pk: int) -> HttpResponse:
    story = _my_story(request, pk)
    initial = {
        "title": story.title,
        "body": story.body,
        "course": story.course_id,
        "consent_to_share": story.consent_to_share,
    }
    form = LearnerStoryForm(
        request.POST if request.method == "POST" else None,
        courses=selectors.program_courses(program=story.program),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.learner_story_save(
                story=story,
                program=story.program,
                employee=story.employee,
                title=data["title"],
                body=data["body"],
                course=data["course"],
                consent_to_share=data["consent_to_share"],
            )
        except ValidationError as error:
            form_errors(form, error)
        else:
            messages.success(request, "Story updated.")
            return redirect("champions:my_stories")
    return render(request, "champions/story_form.html", {"form": form, "story": story})


@login_required
@require_POST
def story_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    services.learner_story_withdraw(story=_my_story(request, pk))
    messages.success(request, "Story withdrawn: only you can see it now.")
    return redirect("champions:my_stories")


@login_required
@require_POST
def story_reshare(request: HttpRequest, pk: int) -> HttpResponse:
    story = services.learner_story_reshare(story=_my_story(request, pk))
    if story.consent_to_share:
        messages.success(request, "Story shared again.")
    else:
        messages.info(request, "Story restored. Tick the consent box (Edit) to show it to others.")
    return redirect("champions:my_stories")
