"""The L&D admin area, included under /manage/ in the `programs` namespace
(programs:manage, programs:manage_programs, ...)."""

from django.urls import path

from programs import admin_views as views

urlpatterns = [
    path("", views.manage_home, name="manage"),
    path("programs/", views.program_list, name="manage_programs"),
    path("programs/new/", views.program_new, name="manage_program_new"),
    path("programs/<int:pk>/", views.program_detail, name="manage_program"),
    path("programs/<int:pk>/edit/", views.program_edit, name="manage_program_edit"),
    path("programs/<int:pk>/activate/", views.program_activate, name="manage_program_activate"),
    path("programs/<int:pk>/close/", views.program_close, name="manage_program_close"),
    path("programs/<int:pk>/clone/", views.program_clone, name="manage_program_clone"),
    path("programs/<int:pk>/collections/", views.collection_list, name="manage_collections"),
    path("programs/<int:pk>/collections/new/", views.collection_new, name="manage_collection_new"),
    path("programs/<int:pk>/appointments/", views.appointments, name="manage_appointments"),
    path(
        "programs/<int:pk>/appointments/<str:role>/<int:appointment_pk>/confirm/",
        views.appointment_confirm,
        name="manage_appointment_confirm",
    ),
    path(
        "programs/<int:pk>/appointments/<str:role>/<int:appointment_pk>/remove/",
        views.appointment_remove,
        name="manage_appointment_remove",
    ),
    path("appointments/", views.appointments_current, name="manage_appointments_current"),
    path("collections/<int:pk>/", views.collection_detail, name="manage_collection"),
    path("collections/<int:pk>/edit/", views.collection_edit, name="manage_collection_edit"),
    path("collections/<int:pk>/add/", views.collection_course_add, name="manage_collection_add"),
    path(
        "collections/<int:pk>/items/<int:item_pk>/remove/",
        views.collection_course_remove,
        name="manage_collection_remove",
    ),
    path("collections/<int:pk>/items/<int:item_pk>/move/", views.collection_course_move, name="manage_collection_move"),
]
