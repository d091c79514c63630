"""Provider pages for L&D admins, included under /providers/ (namespace programs:providers)."""

from django.urls import path

from programs.views import providers as provider_views

app_name = "providers"

urlpatterns = [
    path("", provider_views.connection_list, name="connections"),
    path("new/", provider_views.connection_new, name="new"),
    path("unmatched/", provider_views.unmatched_list, name="unmatched"),
    path("unmatched/rematch/", provider_views.unmatched_rematch_request, name="unmatched_rematch"),
    path("unmatched/dismiss/", provider_views.learner_dismiss_request, name="learner_dismiss"),
    path("unmatched/dismissed/<int:pk>/restore/", provider_views.learner_restore_request, name="learner_restore"),
    path("unmatched/aliases/<int:pk>/unlink/", provider_views.learner_unlink_request, name="learner_unlink"),
    path("invalid/", provider_views.invalid_list, name="invalid"),
    path("<int:pk>/", provider_views.connection_detail, name="detail"),
    path("<int:pk>/edit/", provider_views.connection_edit, name="edit"),
    path("<int:pk>/active/", provider_views.connection_active, name="active"),
    path("<int:pk>/test/", provider_views.connection_check, name="test"),
    path("<int:pk>/remove/", provider_views.connection_remove, name="remove"),
    path("<int:pk>/sync/", provider_views.connection_sync, name="sync"),
    path("<int:pk>/upload/", provider_views.connection_upload, name="upload"),
]
