"""The front door and the plumbing around it: `/` leads to the back office, a favicon, API docs
that fetch nothing from outside, and log records on one line each, without tracebacks for an
ordinary refusal."""

import logging
import logging.config
import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from config.logging import logging_config
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_root_leads_to_the_back_office_not_to_the_api_docs(client):
    # when someone opens the site's root
    response = client.get("/", follow=True)

    # then they end on the back office's sign-in page
    assert response.redirect_chain[0] == ("/backoffice/", 302)
    assert response.request["PATH_INFO"] == "/backoffice/login/"


def test_the_favicon_is_served_from_static_files(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("/favicon.svg")


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_load_only_from_this_site(client, path):
    # when the Swagger UI or the ReDoc page is opened
    page = client.get(path).content.decode()

    # then every script, style sheet, font or image it names is served here (the sidecar)
    named = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)
    assert named
    assert [url for url in named if "//" in url] == []
    assert "fonts.googleapis.com" not in page
    assert '"validatorUrl": null' in page or path.endswith("redoc/")


def test_log_records_are_one_line_each_and_printed_once(capsys):
    # given the logging configuration of the settings
    logging.config.dictConfig(logging_config("INFO"))
    try:
        # when Django logs a record with a multi-line message and an exception
        try:
            raise ValueError("first line\nsecond line")
        except ValueError:
            logging.getLogger("django.request").exception("Internal Server Error: /boom/")
    finally:
        logging.config.dictConfig(settings.LOGGING)

    # then the record is one line, printed once, with the exception on the same line
    printed = [line for line in capsys.readouterr().err.splitlines() if "Internal Server Error" in line]
    assert len(printed) == 1
    assert "ValueError: first line ⏎ second line" in printed[0]


def test_an_ordinary_refusal_is_logged_without_a_traceback(client, capsys):
    # given a planner, who may not open reconciliations
    logging.config.dictConfig(logging_config("INFO"))
    try:
        planner = UserFactory(username="planner")
        planner.groups.add(Group.objects.get(name="planner"))
        client.force_login(planner)

        # when they open the page
        response = client.get("/backoffice/reconciliations/")
    finally:
        logging.config.dictConfig(settings.LOGGING)

    # then they are refused, and the log says so in one line without a traceback
    assert response.status_code == 403
    err = capsys.readouterr().err
    assert "Forbidden" in err and "/backoffice/reconciliations/" in err
    assert "Traceback" not in err and "PermissionDenied" not in err


def test_a_succeeded_task_logs_no_info_line():
    logging.config.dictConfig(logging_config("INFO"))
    try:
        assert not logging.getLogger("celery.app.trace").isEnabledFor(logging.INFO)
        assert logging.getLogger("celery.app.trace").isEnabledFor(logging.WARNING)
    finally:
        logging.config.dictConfig(settings.LOGGING)
