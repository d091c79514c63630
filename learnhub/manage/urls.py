"""/manage/: the L&D admin area (namespace `manage`). It spans the apps (programs,
collections, appointments), so it sits above them, like the API."""

from django.urls import path

from learnhub.manage.views import appointments, collections, home, programs

app_name = "manage"

urlpatterns = [
    path("", home.manage_home, name="home"),
    path("programs/", programs.program_list, name="programs"),
    path("programs/new/", programs.program_new, name="program_new"),
    path("programs/<int:pk>/", programs.program_detail, name="program"),
    path("programs/<int:pk>/edit/", programs.program_edit, name="program_edit"),
    path("programs/<int:pk>/activate/", programs.program_activate, name="program_activate"),
    path("programs/<int:pk>/close/", programs.program_close, name="program_close"),
    path("programs/<int:pk>/clone/", programs.program_clone_form, name="program_clone"),
    path("programs/<int:pk>/collections/", collections.collection_list, name="collections"),
    path("programs/<int:pk>/collections/new/", collections.collection_new, name="collection_new"),
    path("programs/<int:pk>/appointments/", appointments.appointment_list, name="appointments"),
    path(
        "programs/<int:pk>/appointments/confirm-all/",
        appointments.appointments_confirm_all_post,
        name="appointments_confirm_all",
    ),
    path(
        "programs/<int:pk>/appointments/<str:role>/<int:appointment_pk>/confirm/",
        appointments.appointment_confirm_post,
        name="appointment_confirm",
    ),
    path(
        "programs/<int:pk>/appointments/<str:role>/<int:appointment_pk>/remove/",
        appointments.appointment_remove_post,
        name="appointment_remove",
    ),
    path("appointments/", appointments.appointment_list_current, name="appointments_current"),
    path("collections/<int:pk>/", collections.collection_detail, name="collection"),
    path("collections/<int:pk>/edit/", collections.collection_edit, name="collection_edit"),
    path("collections/<int:pk>/submit/", collections.collection_submit, name="collection_submit"),
    path("collections/<int:pk>/add/", collections.course_add, name="collection_add"),
    path("collections/<int:pk>/items/<int:item_pk>/remove/", collections.course_remove, name="collection_remove"),
    path("collections/<int:pk>/items/<int:item_pk>/move/", collections.course_move, name="collection_move"),
]
