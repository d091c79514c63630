"""My learner stories: share with consent, edit, withdraw, share again; and their
moderation by the champions of the learner's organization and L&D admins."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from champions import selectors, services
from champions.forms import (
    LearnerStoryForm,
    StoryModerationFilterForm,
    StoryModerationForm,
)
from champions.models import LearnerStory, StoryModeration
from champions.views._common import form_errors, program_or_404, signed_in_employee
from learnhub.roles import can_moderate_story, moderates_stories


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
            messages.success(request, _("Thank you: your story is saved."))
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
            messages.success(request, _("Story updated."))
            return redirect("champions:my_stories")
    return render(request, "champions/story_form.html", {"form": form, "story": story})


@login_required
@require_POST
def story_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    services.learner_story_withdraw(story=_my_story(request, pk))
    messages.success(request, _("Story withdrawn: only you can see it now."))
    return redirect("champions:my_stories")


@login_required
@require_POST
def story_reshare(request: HttpRequest, pk: int) -> HttpResponse:
    story = services.learner_story_reshare(story=_my_story(request, pk))
    if story.consent_to_share:
        messages.success(request, _("Story shared again."))
    else:
        messages.info(request, _("Story restored. Tick the consent box (Edit) to show it to others."))
    return redirect("champions:my_stories")


STORIES_PAGE_SIZE = 20


@login_required
def stories_review(request: HttpRequest) -> HttpResponse:
    """Consented stories of the people whose organization I champion (L&D admins: all),
    waiting for approval by default; approve or decline each."""
    program = program_or_404()
    if not moderates_stories(request.user, program):
        raise PermissionDenied(_("Champions and L&D admins approve learner stories."))
    form = StoryModerationFilterForm(request.GET or None)
    moderation = form.cleaned_data["moderation"] if form.is_valid() else StoryModeration.PENDING
    stories = selectors.stories_to_moderate(program=program, user=request.user, moderation=moderation)
    page = Paginator(stories, STORIES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "champions/stories_review.html",
        {
            "program": program,
            "form": form,
            "moderation": moderation,
            "page": page,
            "filter_query": f"{urlencode({'moderation': moderation})}&",
        },
    )


@login_required
@require_POST
def story_moderate(request: HttpRequest, pk: int) -> HttpResponse:
    story = get_object_or_404(LearnerStory.objects.select_related("employee__organization", "program"), pk=pk)
    if not can_moderate_story(request.user, story):
        raise PermissionDenied(_("Only a champion of the learner's organization or L&D approves this story."))
    form = StoryModerationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose Approve or Decline."))
    else:
        try:
            services.learner_story_moderate(
                story=story, moderator=signed_in_employee(request), to=form.cleaned_data["to"]
            )
        except ValidationError as error:
            messages.error(
                request,
                _("“%(name)s” not changed: %(reason)s") % {"name": story.title, "reason": " ".join(error.messages)},
            )
        else:
            messages.success(
                request,
                _("“%(name)s”: %(status)s.") % {"name": story.title, "status": story.get_moderation_display().lower()},
            )
    return redirect("champions:stories_review")
