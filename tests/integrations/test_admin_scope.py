"""An integration person scoped to one region uploads a depot sheet and tries messages through
the admin: lines of another region behave as unknown, and nothing about them is stored as a
message a worker would apply."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from guardian.shortcuts import assign_perm

from integrations.models import InboundMessage, SheetUpload
from orders.models import OrderLine
from tests.factories import OrderLineFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def regions(db):
    emea = OrderLineFactory(order__number="SO-EMEA-7", number="10", order__account__region=RegionFactory(code="emea"))
    americas = OrderLineFactory(
        order__number="SO-AMER-7", number="10", order__account__region=RegionFactory(code="americas", name="Americas")
    )
    return {"emea": emea, "americas": americas}


@pytest.fixture
def integrator(client, regions, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    person = UserFactory(username="integrator-emea", is_staff=True)
    person.groups.add(Group.objects.get(name="integration"))
    assign_perm("orders.work_in_region", person, RegionFactory(code="emea"))
    client.force_login(person)
    return client


def test_a_sheet_row_about_another_regions_line_is_an_unknown_order_and_never_a_message(
    integrator, depot_source, regions, django_capture_on_commit_callbacks
):
    # given a sheet with a row for the person's region and one for another region's line
    sheet = "order,line,status,time\nSO-EMEA-7,10,PICKED,2026-11-02 08:00\nSO-AMER-7,10,SHIPPED,2026-11-02 09:00\n"

    # when they upload it
    with django_capture_on_commit_callbacks(execute=True):
        response = integrator.post(
            "/admin/integrations/inboundmessage/upload-sheet/",
            {"source": depot_source.pk, "sheet": SimpleUploadedFile("lyon.csv", sheet.encode())},
        )

    # then only their row became a message and moved its line; the other is an unknown order
    assert response.status_code == 302
    assert [message.raw.splitlines()[1] for message in InboundMessage.objects.all()] == [
        "SO-EMEA-7,10,PICKED,2026-11-02 08:00"
    ]
    assert OrderLine.objects.get(pk=regions["emea"].pk).status == "picking"
    assert OrderLine.objects.get(pk=regions["americas"].pk).status == "received"
    results = integrator.get(response["Location"]).content.decode()
    assert "Unknown order" in results
    assert "no line matches SO-AMER-7/10" in results
    upload = SheetUpload.objects.get()
    assert upload.rows.get(row_number=3).message is None


def test_a_dry_run_about_another_regions_line_reads_as_a_line_not_found(integrator, canonical_source, regions):
    # given a message shipping another region's line, and one naming a line that does not exist
    def dry_run(order: str) -> str:
        payload = (
            f'{{"statuses": [{{"order": "{order}", "line": "10", "status": "shipped", '
            '"occurred_at": "2026-11-02T08:00:00Z"}]}'
        )
        response = integrator.post(
            "/admin/integrations/inboundmessage/dry-run/", {"source": canonical_source.pk, "payload": payload}
        )
        assert response.status_code == 200
        return response.content.decode()

    # when the person tries both
    other_region, unknown = dry_run("SO-AMER-7"), dry_run("SO-NONE-7")

    # then both answer the same way: no such line (and nothing of the other line shows)
    assert "no line matches SO-AMER-7/10" in other_region
    assert "no line matches SO-NONE-7/10" in unknown
    assert "<td>received</td>" not in other_region
