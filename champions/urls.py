from django.urls import path

from champions import views

app_name = "champions"

urlpatterns = [
    path("collections/", views.collections, name="collections"),
    path("groups/", views.groups, name="groups"),
    path("groups/new/", views.group_edit, name="group_new"),
    path("groups/<int:pk>/", views.group_detail, name="group"),
    path("groups/<int:pk>/edit/", views.group_edit, name="group_edit"),
    path("groups/<int:pk>/join/", views.group_join, name="group_join"),
    path("groups/<int:pk>/leave/", views.group_leave, name="group_leave"),
    path("groups/<int:pk>/calendar.ics", views.group_calendar, name="group_calendar"),
    path("groups/<int:group_pk>/sessions/new/", views.session_edit, name="session_new"),
    path("sessions/<int:pk>/edit/", views.session_edit, name="session_edit"),
    path("sessions/<int:pk>/attendance/", views.session_attendance, name="attendance"),
    path("sessions/<int:pk>/calendar.ics", views.session_calendar, name="session_calendar"),
    path("stories/mine/", views.my_stories, name="my_stories"),
    path("stories/<int:pk>/edit/", views.story_edit, name="story_edit"),
    path("stories/<int:pk>/withdraw/", views.story_withdraw, name="story_withdraw"),
    path("stories/<int:pk>/reshare/", views.story_reshare, name="story_reshare"),
    path("updates/new/", views.update_new, name="update_new"),
    path("not-yet/", views.not_yet_index, name="not_yet_index"),
    path("not-yet/<int:org_pk>/", views.not_yet, name="not_yet"),
    path("network/", views.network, name="network"),
    path("sponsor/", views.sponsor, name="sponsor"),
    path("sponsor/video/<int:pk>/", views.sponsor_video, name="sponsor_video"),
    path("sponsor/collections/<int:pk>/review/", views.collection_review, name="collection_review"),
]
