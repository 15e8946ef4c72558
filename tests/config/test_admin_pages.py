"""Every model registered in the admin opens its list, with demo data in it, for a superuser."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_every_admin_list_page_opens(admin_client, settings):
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", orders=8, seed=5)
    call_command("seed_demo_sources")
    call_command("seed_demo_backoffice")

    failures = []
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = admin_client.get(url)
        if response.status_code != 200:
            failures.append((url, response.status_code))

    assert failures == []
