"""Production refuses to run without the site's public address: messages would carry relative
status links and Twilio's callbacks could not be verified."""

import pytest
from django.core.checks import run_checks


def errors_about_the_public_address() -> list[str]:
    return [message.msg for message in run_checks() if message.id == "notifications.E001"]


@pytest.mark.parametrize("value", ["", "/", "parts.example.com", "ftp://parts.example.com", "https://"])
def test_production_without_an_absolute_public_address_fails_its_checks(settings, value):
    settings.DEBUG = False
    settings.PUBLIC_BASE_URL = value

    [message] = errors_about_the_public_address()

    assert "PUBLIC_BASE_URL" in message


@pytest.mark.parametrize("value", ["https://parts.example.com", "http://10.0.0.5:8000"])
def test_production_with_an_absolute_public_address_passes(settings, value):
    settings.DEBUG = False
    settings.PUBLIC_BASE_URL = value

    assert errors_about_the_public_address() == []


def test_development_needs_no_public_address(settings):
    settings.DEBUG = True
    settings.PUBLIC_BASE_URL = ""

    assert errors_about_the_public_address() == []
