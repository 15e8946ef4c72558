"""Working open cases from the line page: acknowledge an alert, take and resolve a discrepancy."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from guardian.shortcuts import assign_perm

from overrides.models import Discrepancy, StaleAlert, StaleStatusRule
from tests.factories import OrderLineFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def planner(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = UserFactory(username="planner-emea")
    user.groups.add(Group.objects.get(name="planner"))
    assign_perm("orders.work_in_region", user, RegionFactory(code="emea"))
    return user


def _case_and_alert(line):
    now = timezone.now()
    rule = StaleStatusRule.objects.create(status="received", threshold=timedelta(hours=1))
    alert = StaleAlert.objects.create(line=line, rule=rule, status="received", status_since=now, opened_at=now)
    case = Discrepancy.objects.create(
        kind=Discrepancy.Kind.SOURCES_DISAGREE,
        line=line,
        summary="EWM says shipped; SAP says released",
        opened_at=now,
        due_at=now + timedelta(hours=2),
        fingerprint=f"test-{line.pk}",
    )
    return alert, case


def test_planner_acknowledges_takes_and_resolves_from_the_line_page(client, planner):
    line = OrderLineFactory()
    alert, case = _case_and_alert(line)
    client.force_login(planner)

    page = client.get(f"/backoffice/lines/{line.pk}/").content.decode()
    assert "Acknowledge" in page and "Take it" in page

    client.post(f"/backoffice/alerts/{alert.pk}/acknowledge/")
    client.post(f"/backoffice/discrepancies/{case.pk}/take/")
    response = client.post(
        f"/backoffice/discrepancies/{case.pk}/resolve/", {"line": line.pk, "resolution": "SAP goods issue posted late"}
    )

    assert response.status_code == 302
    alert.refresh_from_db()
    case.refresh_from_db()
    assert alert.acknowledged_by == planner
    assert (case.owner, case.resolved_by, case.resolution) == (planner, planner, "SAP goods issue posted late")
    assert "acknowledged by planner-emea" in client.get(f"/backoffice/lines/{line.pk}/").content.decode()


def test_resolving_needs_a_resolution_and_out_of_scope_cases_do_not_exist(client, planner):
    line = OrderLineFactory()
    _alert, case = _case_and_alert(line)
    elsewhere = OrderLineFactory(
        order__region=RegionFactory(code="apac", name="APAC"),
        order__account__region=RegionFactory(code="apac", name="APAC"),
    )
    other_alert, other_case = _case_and_alert(elsewhere)
    client.force_login(planner)

    page = client.post(
        f"/backoffice/discrepancies/{case.pk}/resolve/", {"line": line.pk, "resolution": " "}, follow=True
    ).content.decode()

    assert "Say how the discrepancy was resolved." in page
    case.refresh_from_db()
    assert case.resolved_at is None
    assert client.post(f"/backoffice/discrepancies/{other_case.pk}/take/").status_code == 404
    assert client.post(f"/backoffice/alerts/{other_alert.pk}/acknowledge/").status_code == 404
