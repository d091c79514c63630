"""django-allauth hooks: who may sign up (roster employees with a company e-mail)."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return True

    def clean_email(self, email: str) -> str:
        email = super().clean_email(email).strip().lower()
        domains = settings.SIGNUP_EMAIL_DOMAINS
        if domains and email.rpartition("@")[2] not in domains:
            raise forms.ValidationError("Use your company e-mail address.")
        return email
