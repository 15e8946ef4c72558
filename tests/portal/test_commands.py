"""Operator commands: a portal person for an account, and a status link printed once."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from portal.models import StatusLink

pytestmark = pytest.mark.django_db


def test_a_portal_person_follows_the_accounts_named(order, showcase, customer_account):
    output = io.StringIO()

    call_command("portal_user_create", "clara", "--account", customer_account.number, "--language", "de", stdout=output)

    from django.contrib.auth import get_user_model

    clara = get_user_model().objects.get(username="clara")
    client = Client()
    client.force_login(clara)
    assert client.get(f"/portal/orders/{order.public_id}/").status_code == 200
    assert clara.profile.language == "de"
    assert not clara.has_usable_password()


def test_an_unknown_account_is_named(db):
    with pytest.raises(CommandError, match="NOPE"):
        call_command("portal_user_create", "clara", "--account", "NOPE")


def test_a_printed_link_opens_the_line(order, showcase):
    output = io.StringIO()

    call_command("status_link_issue", order.number, "--line", "20", "--days", "3", stdout=output)

    path = output.getvalue().splitlines()[0]
    link = StatusLink.objects.get()
    assert link.line == showcase["20"]
    assert Client().get(path).status_code == 200


def test_a_customer_link_that_would_confirm_is_refused(order):
    with pytest.raises(CommandError, match="technician"):
        call_command("status_link_issue", order.number, "--purpose", "view_confirm")
