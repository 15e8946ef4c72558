"""The Django admin as people meet it: a planner or supervisor who signs in there is sent to the
back office in their language; lists of people hold people only; records are named by labels and
by times in the reader's zone, never by codes or UTC."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone, translation
from guardian.utils import get_anonymous_user

from orders.models import EventSuppression, StatusEvent
from orders.services import Actor, line_status_override
from orders.status import LineStatus
from overrides.models import Discrepancy, EscalationStep, ReconciliationRun, StaleAlert, StaleStatusRule
from overrides.services.access import access_review_start
from overrides.services.alerts import stale_alerts_scan
from overrides.services.requests import override_request_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # the factory's
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _person(username: str, role: str, *, staff: bool = False, superuser: bool = False):
    user = UserFactory(username=username, is_staff=staff, is_superuser=superuser)
    user.groups.add(Group.objects.get(name=role))
    user.user_permissions.add(*_global_scope())
    return user


def _global_scope():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label="orders", codename="work_in_region")


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Planners, supervisors and auditors work in the back office"),
        ("de", "Disponenten, Teamleitungen und Prüfer arbeiten im Backoffice"),
        ("fr", "Les planificateurs, superviseurs et auditeurs travaillent dans le back-office"),
    ],
)
def test_a_supervisor_signing_in_at_the_admin_is_sent_to_the_back_office_in_their_language(client, language, expected):
    _person("supervisor", "supervisor")

    # when a supervisor signs in at /admin/ with their right password
    response = client.post(ADMIN_LOGIN, {"username": "supervisor", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE=language)

    # then they are not signed in, and are told, in their language, where their work is, with a link there
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    text = _text(response)
    assert expected in text
    assert 'href="/backoffice/login/"' in response.content.decode()
    assert "staff account" not in text and "Mitarbeiter" not in text
    # and the admin does not call itself the back office
    assert "Part status back office" not in text and "Ersatzteilstatus – Backoffice" not in text


def test_a_wrong_password_at_the_admin_still_reveals_nothing_but_names_the_back_office(client):
    _person("planner-emea", "planner")

    response = client.post(ADMIN_LOGIN, {"username": "planner-emea", "password": "wrong"})

    # the usual refusal (nothing said about the account), and the way to the back office below it
    text = _text(response)
    assert "Please enter the correct username and password" in text
    assert "work in the back office" not in text
    assert "Planners, supervisors and auditors sign in to the back office" in text


def test_a_planner_signed_in_to_the_back_office_who_opens_the_admin_is_pointed_back(client):
    planner = _person("planner-emea", "planner")
    client.force_login(planner)

    # when they open /admin/ (Django would say "not authorized to access this page")
    response = client.get("/admin/", follow=True, HTTP_ACCEPT_LANGUAGE="de")

    # then they read that the admin is not theirs, with the way back to the back office
    text = _text(response)
    assert "Sie sind als planner-emea angemeldet" in text
    assert "nicht berechtigt" not in text
    assert 'href="/backoffice/"' in response.content.decode()


def test_an_integrator_still_signs_in_to_the_admin(client):
    _person("integrator", "integration", staff=True)

    response = client.post(ADMIN_LOGIN, {"username": "integrator", "password": PASSWORD, "next": "/admin/"})

    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_the_admins_list_of_people_holds_no_anonymous_user(client):
    # guardian keeps a technical user for anonymous visitors
    assert get_anonymous_user().get_username() == "AnonymousUser"
    demo = UserFactory(username="demo", is_staff=True, is_superuser=True)
    client.force_login(demo)

    people = client.get("/admin/auth/user/")
    lookup = client.get("/admin/auth/user/?_to_field=id&_popup=1")  # the raw-id picker's list
    search = client.get("/admin/auth/user/?q=Anonymous")

    for response in (people, lookup, search):
        assert response.status_code == 200
        assert "AnonymousUser" not in response.content.decode()
    assert "demo" in _text(people)


def test_admin_titles_and_columns_name_statuses_roles_and_reasons_by_their_labels(client, line, advance):
    demo = UserFactory(username="demo", is_staff=True, is_superuser=True)
    client.force_login(demo)
    StaleStatusRule.objects.create(status="allocated", threshold=timedelta(hours=2))
    EscalationStep.objects.create(
        level=1, assignee_group=Group.objects.get(name="planner"), response_time=timedelta(hours=1)
    )
    advance(line, "allocated")
    stale_alerts_scan()
    alert = StaleAlert.objects.get(line=line)
    request = override_request_create(
        user=demo,
        line_ids=[line.pk],
        target_status=LineStatus.RECEIVED,
        reason_code="carrier_confirmed",
        justification="Phoned the depot.",
    )
    assert request.state == request.State.PENDING  # backwards: a second person must approve

    alert_page = _text(client.get(f"/admin/overrides/stalealert/{alert.pk}/change/", HTTP_ACCEPT_LANGUAGE="de"))
    alerts = _text(client.get("/admin/overrides/stalealert/", HTTP_ACCEPT_LANGUAGE="de"))
    request_page = _text(
        client.get(f"/admin/overrides/overriderequest/{request.pk}/change/", HTTP_ACCEPT_LANGUAGE="de")
    )
    steps = _text(client.get("/admin/overrides/escalationstep/", HTTP_ACCEPT_LANGUAGE="de"))

    # the alert's title names the status by its label; the role asked to respond by its name
    assert "Reserviert seit" in alert_page and "allocated" not in alert_page
    assert "Disponent" in alerts and " planner " not in alerts  # in the column and the filter
    # the request: its target, why approval is needed and where the line stood, all as labels
    assert f"#{request.pk} Auf „Eingegangen“ setzen" in request_page
    assert "setzt eine Position zurück" in request_page
    assert f"{line}: Reserviert" in request_page
    for code in ("backwards", '"code"', "allocated", " received"):
        assert code not in request_page
    assert "Disponent" in steps and " planner " not in steps


def test_a_suppression_and_the_line_timeline_show_the_reason_by_its_label(client, line, advance):
    demo = UserFactory(username="demo", is_staff=True, is_superuser=True)
    client.force_login(demo)
    advance(line, "allocated")
    line_status_override(
        line_id=line.pk,
        status="on_hold",
        actor=Actor.person(demo),
        reason_code="carrier_confirmed",
        reason_text="Phoned the carrier.",
    )
    event = StatusEvent.objects.get(line=line, reason_code="carrier_confirmed")
    EventSuppression.objects.create(event=event, reason_code="carrier_confirmed", reason_text="x", suppressed_by=demo)

    suppressions = _text(client.get("/admin/orders/eventsuppression/", HTTP_ACCEPT_LANGUAGE="fr"))
    line_page = _text(client.get(f"/admin/orders/orderline/{line.pk}/change/", HTTP_ACCEPT_LANGUAGE="fr"))

    assert "Confirmé par le transporteur par téléphone ou e-mail" in suppressions
    assert "carrier_confirmed" not in suppressions
    assert f"{line}: Réservé → Suspendu" in suppressions and "(applied)" not in suppressions
    assert "Confirmé par le transporteur par téléphone ou e-mail" in line_page
    assert "carrier_confirmed" not in line_page
    # each record's own page: titled by the line and the change, the reason by its label
    suppression = EventSuppression.objects.get(event=event)
    for page in (
        _text(client.get(f"/admin/orders/statusevent/{event.pk}/change/", HTTP_ACCEPT_LANGUAGE="fr")),
        _text(client.get(f"/admin/orders/eventsuppression/{suppression.pk}/change/", HTTP_ACCEPT_LANGUAGE="fr")),
    ):
        assert f"{line}: Réservé → Suspendu" in page
        assert "Confirmé par le transporteur par téléphone ou e-mail" in page
        assert "carrier_confirmed" not in page and "(applied)" not in page


def test_admin_names_carry_times_in_the_readers_zone_and_format(line, advance):
    auditor = _person("auditor", "auditor")
    StaleStatusRule.objects.create(status="allocated", threshold=timedelta(hours=2))
    advance(line, "allocated")
    stale_alerts_scan()
    alert = StaleAlert.objects.get(line=line)
    run = ReconciliationRun.objects.create(
        source_code="SAP-ERP",
        since=datetime(2026, 12, 5, 22, 30, tzinfo=ZoneInfo("UTC")),
        until=datetime(2026, 12, 6, 7, 0, tzinfo=ZoneInfo("UTC")),
    )
    _person("planner-emea", "planner")
    review = access_review_start(user=auditor)
    item = review.items.select_related("user").get(user__username="planner-emea", power="orders.override_line_status")

    with translation.override("de"), timezone.override(ZoneInfo("Europe/Berlin")):
        run_name, alert_name, item_name = str(run), str(alert), str(item)
        since = timezone.localtime(alert.status_since)
    # a German reader in Berlin: German formats, Berlin's time, the zone named; never UTC or ISO
    assert run_name == "SAP-ERP, Nachrichten empfangen 05.12.2026 23:30 CET – 06.12.2026 08:00 CET"
    assert alert_name.endswith(f"seit {since:%d.%m.%Y %H:%M} CET")
    assert "2026-12" not in run_name + alert_name
    # an access grant by its power and role in words, not "orders.override_line_status via group planner"
    assert item_name == "planner-emea: Positionsstatus übersteuern (Gruppe „Disponent“)"

    with translation.override("en"), timezone.override(ZoneInfo("America/Chicago")):
        assert "CST" in str(run)


def test_the_reconciliation_form_says_which_time_zone_its_times_are_read_in(client):
    supervisor = _person("supervisor", "supervisor")
    client.force_login(supervisor)
    client.cookies["tz"] = "Europe%2FParis"

    text = _text(client.get("/backoffice/reconciliations/", HTTP_ACCEPT_LANGUAGE="fr"))

    assert "Europe/Paris" in text


def test_a_case_reads_with_french_punctuation_on_the_line_and_order_pages(client, line):
    planner = _person("planner-fr", "planner")
    client.force_login(planner)
    now = timezone.now()
    Discrepancy.objects.create(
        kind=Discrepancy.Kind.SOURCES_DISAGREE,
        line=line,
        summary="EWM-RTM says shipped; SAP-ERP has reported nothing for this line",
        summary_code="ledger_silent",
        summary_params={"leading": "EWM-RTM", "reported": "shipped", "ledger": "SAP-ERP"},
        opened_at=now,
        due_at=now + timedelta(hours=2),
        fingerprint="fr-typography",
    )

    line_page = _text(client.get(f"/backoffice/lines/{line.pk}/", HTTP_ACCEPT_LANGUAGE="fr"))
    order_page = _text(client.get(f"/backoffice/orders/{line.order_id}/", HTTP_ACCEPT_LANGUAGE="fr"))

    # a space before the colon, as French writes it; the summary in French
    assert "Sources en désaccord : EWM-RTM indique" in line_page
    assert f"{line.number} : Sources en désaccord : EWM-RTM indique" in order_page


def test_every_admin_page_names_the_time_zone_its_times_are_in_and_learns_the_browsers(client):
    integrator = _person("integrator", "integration", staff=True)
    client.force_login(integrator)
    client.cookies["tz"] = "Asia%2FTokyo"

    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="de")

    text = _text(response)
    assert "Zeiten in Asia/Tokyo" in text
    assert "js/time-zone.js" in response.content.decode()  # sets the cookie for an admin-only person
    assert client.get("/backoffice/preferences/").status_code == 200  # where the link leads, for them too


def test_the_time_zones_to_choose_from_are_grouped_by_area_and_named_by_place(client):
    planner = _person("planner-emea", "planner")
    client.force_login(planner)

    page = client.get("/backoffice/preferences/").content.decode()
    response = client.post(
        "/backoffice/preferences/", {"language": "de", "time_zone": "America/Argentina/Buenos_Aires"}
    )

    assert '<optgroup label="Europe">' in page
    assert '<option value="Europe/Berlin">Berlin</option>' in page
    assert ">Argentina / Buenos Aires</option>" in page
    assert response.status_code == 302
    assert get_user_model().objects.get(pk=planner.pk).profile.time_zone == "America/Argentina/Buenos_Aires"
