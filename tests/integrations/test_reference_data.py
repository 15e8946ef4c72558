"""Code mappings, regions and sites without the shell: commands and admin CSV import / export."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from integrations.models import InboundMessage, MessageState, StatusMapping, Transport
from integrations.services.inbox import inbound_message_receive
from orders.models import Region, Site
from tests.factories import RegionFactory, SiteFactory

pytestmark = pytest.mark.django_db

REFUSED = "No source fact can move a line to “received”: every line starts there."


def _export(table: str, tmp_path) -> str:
    target = tmp_path / f"{table}.csv"
    call_command("export_reference", table, "--output", str(target), stdout=io.StringIO())
    return target.read_text(encoding="utf-8")


def _import(table: str, path, *extra: str) -> str:
    out = io.StringIO()
    call_command("import_reference", table, str(path), *extra, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_mappings_export_and_import_round_trip_with_their_versions(depot_source, tmp_path):
    # given a code that changed meaning at a cutover
    cutover = datetime(2026, 10, 1, tzinfo=UTC)
    StatusMapping.objects.filter(source=depot_source, external_code="PACKED").update(valid_until=cutover)
    StatusMapping.objects.create(
        source=depot_source, external_code="PACKED", status="shipped", version=2, valid_from=cutover
    )
    exported = _export("mappings", tmp_path)
    StatusMapping.objects.all().delete()

    # when the file is imported into the emptied table, then again
    first = _import("mappings", tmp_path / "mappings.csv")
    second = _import("mappings", tmp_path / "mappings.csv")

    # then every version is back as it was, and the second import changes nothing
    assert "mappings: 4 created, 0 updated, 0 unchanged." in first
    assert "mappings: 0 created, 0 updated, 4 unchanged." in second
    assert _export("mappings", tmp_path) == exported
    assert list(csv.reader(io.StringIO(exported)))[0] == [
        "source",
        "external_code",
        "qualifier",
        "status",
        "reason_code",
        "description",
        "version",
        "valid_from",
        "valid_until",
    ]


def test_a_row_without_version_that_changes_a_code_adds_the_next_version(
    depot_source, tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        waiting, _new = inbound_message_receive(
            source=depot_source,
            raw="order,line,status,time\nSO-1,10,LOADED,2026-11-02 08:00\n",
            transport=Transport.FILE,
        )
    assert InboundMessage.objects.get(pk=waiting.pk).state == MessageState.QUARANTINED
    sheet = tmp_path / "changes.csv"
    sheet.write_text(
        "source;external_code;qualifier;status;reason_code;description;version;valid_from;valid_until\n"
        "depot-lyon;PICKED;;picking;;;;;\n"
        "depot-lyon;PACKED;;awaiting_kitting;;kitting first;;2026-11-01T00:00:00+00:00;\n"
        "depot-lyon;LOADED;;shipped;;;;;\n",
        encoding="utf-8",
    )

    with django_capture_on_commit_callbacks(execute=True):
        report = _import("mappings", sheet)

    assert "mappings: 1 created, 1 updated, 1 unchanged." in report
    old, new = StatusMapping.objects.filter(source=depot_source, external_code="PACKED").order_by("version")
    assert (old.status, old.valid_until) == ("packed", datetime(2026, 11, 1, tzinfo=UTC))
    assert (new.status, new.version, new.valid_until, new.description) == ("awaiting_kitting", 2, None, "kitting first")
    # the quarantined message waiting for LOADED was replayed with its new mapping
    assert InboundMessage.objects.get(pk=waiting.pk).state != MessageState.QUARANTINED


def test_a_mapping_to_received_is_refused_with_a_clear_message_and_nothing_is_imported(depot_source, tmp_path):
    sheet = tmp_path / "bad.csv"
    sheet.write_text(
        "source,external_code,qualifier,status,reason_code,description,version,valid_from,valid_until\n"
        "depot-lyon,NEW,,released,,,,,\n"
        "depot-lyon,OPEN,,received,,,,,\n"
        "nowhere,X,,packed,,,,,\n",
        encoding="utf-8",
    )
    errors = io.StringIO()

    with pytest.raises(CommandError, match=r"2 error\(s\): nothing imported"):
        call_command("import_reference", "mappings", str(sheet), stdout=io.StringIO(), stderr=errors)

    assert f"row 3: status: {REFUSED}" in errors.getvalue()
    assert "row 4: source: no source system 'nowhere'" in errors.getvalue()
    assert not StatusMapping.objects.filter(external_code__in=["NEW", "OPEN", "X"]).exists()


def test_the_model_refuses_a_mapping_to_received(depot_source):
    mapping = StatusMapping(source=depot_source, external_code="OPEN", status="received")

    with pytest.raises(ValidationError) as error:
        mapping.full_clean()

    assert REFUSED in error.value.message_dict["status"][0]


def test_the_admin_refuses_a_mapping_to_received(admin_client, depot_source):
    page = admin_client.post(
        "/admin/integrations/statusmapping/add/",
        {
            "source": depot_source.pk,
            "external_code": "OPEN",
            "status": "received",
            "version": 1,
            "valid_from_0": "2026-11-01",
            "valid_from_1": "00:00:00",
        },
    )

    assert page.status_code == 200
    assert REFUSED in page.content.decode()
    assert not StatusMapping.objects.filter(external_code="OPEN").exists()


def test_regions_and_sites_import_by_command_and_export_the_same(tmp_path):
    (tmp_path / "regions.csv").write_text("code,name\nemea,Europe\napac,Asia Pacific\n", encoding="utf-8")
    (tmp_path / "sites.csv").write_text(
        "\ufeffcode;name;kind;region;country;time_zone\n"
        "depot-ham;Depot Hamburg;depot;emea;de;Europe/Berlin\n"
        "dc-sin;DC Singapore;dc;apac;SG;Asia/Singapore\n",
        encoding="utf-8",
    )

    regions = _import("regions", tmp_path / "regions.csv")
    sites = _import("sites", tmp_path / "sites.csv")

    assert "regions: 2 created" in regions
    assert "sites: 2 created" in sites
    hamburg = Site.objects.get(code="depot-ham")
    assert (hamburg.region.code, hamburg.country, hamburg.time_zone) == ("emea", "DE", "Europe/Berlin")
    assert _export("sites", tmp_path).splitlines() == [
        "code,name,kind,region,country,time_zone",
        "dc-sin,DC Singapore,dc,apac,SG,Asia/Singapore",
        "depot-ham,Depot Hamburg,depot,emea,DE,Europe/Berlin",
    ]


def test_a_sites_file_with_errors_names_each_row_and_writes_nothing(tmp_path):
    RegionFactory(code="emea")
    sheet = tmp_path / "sites.csv"
    sheet.write_text(
        "code,name,kind,region,country,time_zone\n"
        "depot-ham,Depot Hamburg,depot,emea,DE,Europe/Berlin\n"
        "depot-x,Depot X,depot,mars,DE,Europe/Berlin\n"
        "depot-y,Depot Y,warehouse,emea,DE,Europe/Hamburg\n"
        "depot-ham,Depot Hamburg again,depot,emea,DE,Europe/Berlin\n",
        encoding="utf-8",
    )
    errors = io.StringIO()

    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_reference", "sites", str(sheet), stdout=io.StringIO(), stderr=errors)

    assert "row 3: region: no region 'mars': import the regions first" in errors.getvalue()
    assert "row 4: time_zone: 'Europe/Hamburg' is not a time zone such as Europe/Berlin" in errors.getvalue()
    assert "row 5: code 'depot-ham' again (first in row 2)" in errors.getvalue()
    assert not Site.objects.exists()


def test_import_dry_run_counts_and_writes_nothing(tmp_path):
    (tmp_path / "regions.csv").write_text("code,name\nemea,Europe\n", encoding="utf-8")

    report = _import("regions", tmp_path / "regions.csv", "--dry-run")

    assert "Dry run, nothing written: regions: 1 created" in report
    assert not Region.objects.exists()


def test_sites_admin_export_then_import_round_trip(admin_client):
    SiteFactory(code="depot-lyon", name="Depot Lyon", kind="depot", time_zone="Europe/Paris", country="FR")
    listing = admin_client.get("/admin/orders/site/").content.decode()
    exported = admin_client.get("/admin/orders/site/export-csv/")
    text = exported.content.decode("utf-8-sig").replace("Europe/Paris", "Europe/Brussels")

    response = admin_client.post(
        "/admin/orders/site/import-csv/", {"file": SimpleUploadedFile("sites.csv", text.encode("utf-8"))}
    )

    assert 'href="/admin/orders/site/export-csv/"' in listing
    assert 'href="/admin/orders/site/import-csv/"' in listing
    assert exported["Content-Disposition"] == 'attachment; filename="sites.csv"'
    assert response.status_code == 302
    assert Site.objects.get(code="depot-lyon").time_zone == "Europe/Brussels"
    assert "Imported: 0 new, 1 changed, 0 unchanged." in admin_client.get(response["Location"]).content.decode()


def test_mappings_admin_import_shows_each_refused_row(admin_client, depot_source):
    exported = admin_client.get("/admin/integrations/statusmapping/export-csv/").content.decode("utf-8-sig")
    text = exported + "depot-lyon,OPEN,,received,,,,,\r\n"

    page = admin_client.post(
        "/admin/integrations/statusmapping/import-csv/", {"file": SimpleUploadedFile("m.csv", text.encode())}
    ).content.decode()

    assert "Nothing was imported." in page
    assert f"row 5: status: {REFUSED}" in page
    assert StatusMapping.objects.count() == 3


def test_import_needs_the_add_and_change_permissions(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_site"))
    client.force_login(viewer)

    assert client.get("/admin/orders/site/export-csv/").status_code == 200
    assert client.get("/admin/orders/site/import-csv/").status_code == 403
