from django.urls import path

from champions.views import collections, groups, network, not_yet, sponsor, stories, team, updates

app_name = "champions"

urlpatterns = [
    path("collections/", collections.collections, name="collections"),
    path("groups/", groups.groups, name="groups"),
    path("groups/new/", groups.group_edit, name="group_new"),
    path("groups/<int:pk>/", groups.group_detail, name="group"),
    path("groups/<int:pk>/edit/", groups.group_edit, name="group_edit"),
    path("groups/<int:pk>/join/", groups.group_join, name="group_join"),
    path("groups/<int:pk>/leave/", groups.group_leave, name="group_leave"),
    path("groups/<int:pk>/calendar.ics", groups.group_calendar, name="group_calendar"),
    path("groups/<int:group_pk>/sessions/new/", groups.session_edit, name="session_new"),
    path("sessions/<int:pk>/edit/", groups.session_edit, name="session_edit"),
    path("sessions/<int:pk>/attendance/", groups.session_attendance, name="attendance"),
    path("sessions/<int:pk>/calendar.ics", groups.session_calendar, name="session_calendar"),
    path("stories/mine/", stories.my_stories, name="my_stories"),
    path("stories/<int:pk>/edit/", stories.story_edit, name="story_edit"),
    path("stories/<int:pk>/withdraw/", stories.story_withdraw, name="story_withdraw"),
    path("stories/<int:pk>/reshare/", stories.story_reshare, name="story_reshare"),
    path("stories/review/", stories.stories_review, name="stories_review"),
    path("stories/<int:pk>/moderate/", stories.story_moderate, name="story_moderate"),
    path("updates/", updates.updates_feed, name="updates"),
    path("updates/org/<int:org_pk>/", updates.updates_feed, name="org_updates"),
    path("updates/new/", updates.update_new, name="update_new"),
    path("team/", team.my_team, name="team"),
    path("not-yet/", not_yet.not_yet_index, name="not_yet_index"),
    path("not-yet/<int:org_pk>/", not_yet.not_yet, name="not_yet"),
    path("not-yet/<int:org_pk>/people.csv", not_yet.not_yet_csv, name="not_yet_csv"),
    path("not-yet/<int:org_pk>/preview/<int:person_pk>/", not_yet.nudge_preview_page, name="nudge_preview"),
    path(
        "not-yet/<int:org_pk>/preview/<int:person_pk>/email.html",
        not_yet.nudge_preview_html,
        name="nudge_preview_html",
    ),
    path("not-yet/<int:org_pk>/digest-preview/", not_yet.digest_preview_page, name="digest_preview"),
    path("not-yet/<int:org_pk>/digest-preview/email.html", not_yet.digest_preview_html, name="digest_preview_html"),
    path("network/", network.network, name="network"),
    path("sponsor/", sponsor.sponsor, name="sponsor"),
    path("sponsor/video/<int:pk>/", sponsor.sponsor_video, name="sponsor_video"),
    path("sponsor/collections/<int:pk>/review/", sponsor.collection_review, name="collection_review"),
]
