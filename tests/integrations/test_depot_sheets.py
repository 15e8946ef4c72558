"""Depot sheets as depots write them: their own headings, Excel in Europe, the site's time zone,
spreadsheet row numbers, and a result per row after an upload and in the dry run."""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from integrations.adapters import ParseError, csv_depot
from integrations.models import InboundMessage, MessageState, SheetUpload, SourceSystem, StatusMapping
from integrations.services.parsing import inbound_parse
from integrations.services.sheets import (
    RowOutcome,
    depot_sheet_dry_run,
    depot_sheet_upload,
    depot_sheet_upload_results,
    source_sheet_layout_set,
)
from orders.models import OrderLine, StatusEvent
from tests.factories import SiteFactory

FIXTURES = Path(__file__).parent / "fixtures" / "depot"
DEPOT_CODES = {
    "KOMM": "picking",  # kommissioniert
    "VERP": "packed",  # verpackt
    "VERS": "shipped",  # versandt
    "PREP": "picking",  # préparé
    "EMB": "packed",  # emballé
    "PREPARADO": "picking",
    "GEPICKT": "picking",
    "VERPAKT": "packed",
}


def _sheet(name: str) -> str:
    return csv_depot.decode((FIXTURES / name).read_bytes())


def _upload_file(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (FIXTURES / name).read_bytes(), content_type="text/csv")


@pytest.fixture
def depot(depot_source):
    for code, status in DEPOT_CODES.items():
        StatusMapping.objects.get_or_create(source=depot_source, external_code=code, defaults={"status": status})
    return depot_source


# --- the adapter: pure, recorded sheets ------------------------------------------------------


def test_german_semicolon_sheet_is_read_without_any_layout():
    statuses = csv_depot.parse(_sheet("hamburg_auftrag.csv")).statuses

    assert [(s.line.order_number, s.line.line_number, s.code) for s in statuses] == [
        ("SO-1000001", "10", "KOMM"),
        ("SO-1000001", "10", "VERP"),
        ("SO-1000001", "10", "VERS"),
    ]
    # "Datum" and "Zeit" are separate columns; "14.45 Uhr" is a time of day.
    assert [s.occurred_at for s in statuses] == [
        datetime(2026, 11, 2, 8, 5),
        datetime(2026, 11, 2, 9, 30),
        datetime(2026, 11, 2, 14, 45),
    ]
    assert statuses[1].text == "Karton 2 von 2, Palette 4 clerk: K. Schulz"
    assert statuses[2].text == "Spedition abgeholt clerk: B. Öztürk"


def test_rows_are_numbered_as_the_spreadsheet_shows_them():
    # header = row 1; row 3 is blank; row 4's remark spans two lines of the file.
    rows = csv_depot.rows(_sheet("hamburg_auftrag.csv"))

    assert [number for number, _text in rows] == [2, 4, 5]
    assert rows[0].text.startswith("Auftrag;Pos.;Status;Datum;Zeit;Bearbeiter;Bemerkung\n")


def test_a_bad_row_is_named_by_its_spreadsheet_row():
    with pytest.raises(csv_depot.RowError) as error:
        csv_depot.parse(_sheet("hamburg_bad_rows.csv"))

    # Row 5 of the sheet, line 6 of the file (the remark above it spans two lines).
    assert str(error.value) == "row 5: time '31.11.2026 10:00' is not like 02.11.2026 14:30"
    assert error.value.reason == csv_depot.RowError.BAD_TIME


def test_french_sheet_in_windows_1252_with_date_and_heure_apart():
    statuses = csv_depot.parse(_sheet("lyon_commande.csv")).statuses

    assert [(s.code, s.occurred_at, s.location) for s in statuses] == [
        ("PREP", datetime(2026, 11, 2, 8, 5), "depot-lyon"),
        ("EMB", datetime(2026, 11, 2, 9, 30), "depot-lyon"),
    ]
    assert statuses[1].text == "colis abîmé, reconditionné clerk: M. Durand"


def test_spanish_sheet_with_a_decimal_comma_quantity():
    [status] = csv_depot.parse(_sheet("madrid_pedido.csv")).statuses

    assert (status.code, status.occurred_at, status.quantity, status.location) == (
        "PREPARADO",
        datetime(2026, 11, 2, 8, 5),
        2,
        "depot-mad",
    )


def test_our_own_column_names_as_english_headings():
    statuses = csv_depot.parse(_sheet("rotterdam_english.csv")).statuses

    assert [(s.code, s.occurred_at, s.location) for s in statuses] == [
        ("PICKED", datetime(2026, 11, 2, 8, 5), "depot-rtm"),
        ("PACKED", datetime(2026, 11, 2, 9, 30), "depot-rtm"),
    ]
    assert statuses[1].text == "two boxes clerk: P. de Vries"


def test_a_sheet_nothing_recognises_needs_a_layout_and_reads_with_one():
    sheet = _sheet("utrecht_eigen.csv")
    layout = csv_depot.SheetLayout(
        columns={
            "order": "Ordernummer",
            "line": "Regel",
            "status": "Code",
            "time": "Tijdstip",
            "site": "Locatie",
            "clerk": "Medewerker",
            "note": "Opmerking",
        }
    )

    with pytest.raises(ParseError, match=r"missing column\(s\): order, line, time; the sheet has Ordernummer"):
        csv_depot.parse(sheet)
    statuses = csv_depot.parse(sheet, layout=layout).statuses

    assert [(s.line.order_number, s.code, s.occurred_at, s.location) for s in statuses] == [
        ("SO-1000001", "GEPICKT", datetime(2026, 11, 2, 8, 5), "depot-utr"),
        ("SO-1000001", "VERPAKT", datetime(2026, 11, 2, 9, 30), "depot-utr"),
    ]
    assert statuses[1].text == "2 dozen clerk: A. Jansen"


@pytest.mark.parametrize(
    ("date_order", "expected"),
    [(csv_depot.DAY_FIRST, datetime(2026, 2, 11, 14, 30)), (csv_depot.MONTH_FIRST, datetime(2026, 11, 2, 14, 30))],
)
def test_the_depots_date_order_decides_a_slashed_date(date_order, expected):
    sheet = "order,line,status,time\nSO-1,10,PICKED,11/02/2026 14:30\n"

    [status] = csv_depot.parse(sheet, layout=csv_depot.SheetLayout(date_order=date_order)).statuses

    assert status.occurred_at == expected


def test_month_first_refuses_a_day_first_date_with_the_row():
    sheet = "order,line,status,time\nSO-1,10,PICKED,2026-11-02 08:00\nSO-1,10,PACKED,31/10/2026 09:00\n"

    with pytest.raises(csv_depot.RowError, match=r"^row 3: time '31/10/2026 09:00' is not like 11/02/2026 2:30 PM"):
        csv_depot.parse(sheet, layout=csv_depot.SheetLayout(date_order=csv_depot.MONTH_FIRST))


def test_excel_sep_line_is_not_a_row():
    sheet = "sep=;\nOrder;Line;Status;Time\nSO-1;10;PICKED;02.11.2026 08:00\n"

    assert [number for number, _text in csv_depot.rows(sheet)] == [2]
    assert csv_depot.parse(sheet).statuses[0].occurred_at == datetime(2026, 11, 2, 8, 0)


# --- time zones: the site's, else the source's -----------------------------------------------


@pytest.mark.django_db
def test_local_times_are_read_in_the_sites_time_zone(depot):
    SiteFactory(code="depot-lyon", time_zone="Europe/Paris")
    depot.time_zone = "America/Chicago"
    depot.save()

    statuses = inbound_parse(source=depot, raw=_sheet("lyon_commande.csv")).statuses

    assert statuses[0].occurred_at == datetime(2026, 11, 2, 7, 5, tzinfo=UTC)  # 08:05 in Lyon (CET)


@pytest.mark.django_db
def test_a_sheet_without_a_known_site_is_read_in_the_sources_time_zone(depot):
    SiteFactory(code="depot-lyon", time_zone="Europe/Paris")
    depot.time_zone = "Europe/Berlin"
    depot.save()

    hamburg = inbound_parse(source=depot, raw=_sheet("hamburg_auftrag.csv")).statuses  # no site column
    madrid = inbound_parse(source=depot, raw=_sheet("madrid_pedido.csv")).statuses  # a site we do not know

    assert hamburg[0].occurred_at.replace(tzinfo=None) == datetime(2026, 11, 2, 8, 5)
    assert hamburg[0].occurred_at.tzinfo is None  # processing applies the source's zone
    assert madrid[0].occurred_at.tzinfo is None


@pytest.mark.django_db
def test_an_uploaded_row_applies_at_the_sites_time(depot, order_line, django_capture_on_commit_callbacks):
    SiteFactory(code="depot-lyon", time_zone="Europe/Paris")
    depot.time_zone = "Asia/Tokyo"
    depot.save()

    with django_capture_on_commit_callbacks(execute=True):
        depot_sheet_upload(
            source=depot, content=(FIXTURES / "lyon_commande.csv").read_bytes(), filename="lyon.csv", user=None
        )

    times = list(StatusEvent.objects.filter(line=order_line, kind="fact").order_by("id").values_list("occurred_at"))
    assert times == [(datetime(2026, 11, 2, 7, 5, tzinfo=UTC),), (datetime(2026, 11, 2, 8, 30, tzinfo=UTC),)]


# --- uploads and their results ---------------------------------------------------------------


@pytest.mark.django_db
def test_upload_results_name_each_row_and_what_it_did(depot, order_line, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload = depot_sheet_upload(
            source=depot, content=(FIXTURES / "hamburg_mixed.csv").read_bytes(), filename="hh.csv", user=None
        )

    results = depot_sheet_upload_results(upload=upload)

    assert [(r.row, r.order, r.code, r.outcome) for r in results] == [
        (2, "SO-1000001", "VERP", RowOutcome.APPLIED),
        (3, "SO-1000001", "KOMM", RowOutcome.STALE),
        (4, "SO-9999999", "VERP", RowOutcome.UNKNOWN_ORDER),
        (5, "", "", RowOutcome.BAD_TIME),
        (6, "SO-1000001", "GELADEN", RowOutcome.UNKNOWN_CODE),
    ]
    assert results[3].detail == "row 5: time '31.11.2026 10:00' is not like 02.11.2026 14:30"
    # The unreadable row became no message, but it is kept on the upload.
    assert InboundMessage.objects.count() == 4
    assert "31.11.2026" in upload.rows.get(row_number=5).raw
    assert OrderLine.objects.get(pk=order_line.pk).status == "packed"


@pytest.mark.django_db
def test_results_take_a_fixed_number_of_queries(depot, order_line, django_assert_max_num_queries):
    sheet = "order;line;status;time\n" + "".join(f"SO-{n};10;VERP;02.11.2026 08:00\n" for n in range(40))
    upload = depot_sheet_upload(source=depot, content=sheet.encode(), filename="many.csv", user=None)
    InboundMessage.objects.update(state=MessageState.DEAD)  # all unknown orders, as a worker leaves them

    with django_assert_max_num_queries(8):
        results = depot_sheet_upload_results(upload=upload)

    assert {r.outcome for r in results} == {RowOutcome.UNKNOWN_ORDER}


@pytest.mark.django_db
def test_a_row_uploaded_again_is_a_duplicate_and_keeps_its_result(
    depot, order_line, django_capture_on_commit_callbacks
):
    content = (FIXTURES / "hamburg_auftrag.csv").read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        depot_sheet_upload(source=depot, content=content, filename="hh.csv", user=None)
        again = depot_sheet_upload(source=depot, content=content, filename="hh (1).csv", user=None)

    results = depot_sheet_upload_results(upload=again)

    assert [(r.row, r.outcome, r.duplicate) for r in results] == [
        (2, RowOutcome.APPLIED, True),
        (4, RowOutcome.APPLIED, True),
        (5, RowOutcome.APPLIED, True),
    ]
    assert InboundMessage.objects.count() == 3


@pytest.mark.django_db
def test_a_stored_rows_error_names_its_row_in_the_uploaded_sheet(depot, order_line):
    upload = depot_sheet_upload(
        source=depot, content=(FIXTURES / "hamburg_auftrag.csv").read_bytes(), filename="hh.csv", user=None
    )
    message = upload.rows.get(row_number=5).message
    # The depot's layout changed after the upload: the row no longer reads as a time.
    source_sheet_layout_set(source_id=depot.pk, columns={"time": "Bemerkung"}, date_order="dmy")

    with pytest.raises(csv_depot.RowError, match=r"^row 5: "):
        inbound_parse(source=SourceSystem.objects.get(pk=depot.pk), raw=message.raw, message_id=message.pk)


@pytest.mark.django_db
def test_dry_run_tries_the_rows_in_order_and_stores_nothing(depot, order_line):
    results = depot_sheet_dry_run(source=depot, content=(FIXTURES / "hamburg_mixed.csv").read_bytes())

    assert [(r.row, r.outcome) for r in results] == [
        (2, RowOutcome.APPLIED),
        (3, RowOutcome.STALE),  # row 2 packed the line first
        (4, RowOutcome.UNKNOWN_ORDER),
        (5, RowOutcome.BAD_TIME),
        (6, RowOutcome.UNKNOWN_CODE),
    ]
    assert all(r.message_id is None for r in results)
    assert not InboundMessage.objects.exists()
    assert not SheetUpload.objects.exists()
    assert OrderLine.objects.get(pk=order_line.pk).status == "received"


# --- the admin: upload, results page, CSV, dry run, layout ------------------------------------


@pytest.fixture
def staff(admin_client):
    return admin_client


@pytest.mark.django_db
def test_upload_shows_the_result_table_and_exports_it_as_csv(
    staff, depot, order_line, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            "/admin/integrations/inboundmessage/upload-sheet/",
            {"source": depot.pk, "sheet": _upload_file("hamburg_mixed.csv")},
        )
    upload = SheetUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/integrations/inboundmessage/upload-sheet/{upload.pk}/"

    page = staff.get(response["Location"]).content.decode()
    exported = staff.get(f"/admin/integrations/inboundmessage/upload-sheet/{upload.pk}/results.csv")

    assert '<tr class="result-unknown_order">' in page
    assert "<strong>Unknown status code</strong>" in page
    assert exported["Content-Type"] == "text/csv"
    assert 'filename="results-hamburg_mixed.csv"' in exported["Content-Disposition"]
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == ["row", "order", "line", "status", "time", "result", "result_text", "detail", "message"]
    assert [(row[0], row[5]) for row in table[1:]] == [
        ("2", "applied"),
        ("3", "stale"),
        ("4", "unknown_order"),
        ("5", "bad_time"),
        ("6", "unknown_code"),
    ]
    assert table[4][7] == "row 5: time '31.11.2026 10:00' is not like 02.11.2026 14:30"


@pytest.mark.django_db
def test_someone_elses_upload_is_not_found_for_a_scoped_uploader(client, depot, django_user_model):
    from django.contrib.auth.models import Permission

    upload = depot_sheet_upload(
        source=depot, content=(FIXTURES / "hamburg_auftrag.csv").read_bytes(), filename="hh.csv", user=None
    )
    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="upload_depot_sheet"))
    client.force_login(clerk)

    assert client.get(f"/admin/integrations/inboundmessage/upload-sheet/{upload.pk}/").status_code == 404
    assert client.get(f"/admin/integrations/inboundmessage/upload-sheet/{upload.pk}/results.csv").status_code == 404


@pytest.mark.django_db
def test_upload_page_dry_run_shows_rows_and_stores_nothing(staff, depot, order_line):
    page = staff.post(
        "/admin/integrations/inboundmessage/upload-sheet/",
        {"source": depot.pk, "sheet": _upload_file("hamburg_mixed.csv"), "dry_run": "1"},
    ).content.decode()
    exported = staff.post(
        "/admin/integrations/inboundmessage/upload-sheet/",
        {"source": depot.pk, "sheet": _upload_file("hamburg_mixed.csv"), "export": "1"},
    )

    assert '<tr class="result-stale">' in page
    assert '<tr class="result-bad_time">' in page
    assert exported.content.decode("utf-8-sig").splitlines()[2].startswith("3;SO-1000001;10;KOMM;")
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
def test_dry_run_page_tries_a_pasted_sheet_row_by_row(staff, depot, order_line):
    page = staff.post(
        "/admin/integrations/inboundmessage/dry-run/", {"source": depot.pk, "payload": _sheet("hamburg_mixed.csv")}
    ).content.decode()

    assert "Result per row" in page
    assert '<tr class="result-applied">' in page
    assert '<tr class="result-unknown_code">' in page
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
def test_layout_page_previews_a_sample_and_saves_the_layout(staff, depot, order_line):
    url = f"/admin/integrations/sourcesystem/{depot.pk}/sheet-layout/"
    columns = {
        "column_order": "Ordernummer",
        "column_line": "Regel",
        "column_time": "Tijdstip",
        "column_site": "Locatie",
        "column_clerk": "Medewerker",
    }

    preview = staff.post(
        url, {"sheet_date_order": "dmy", "sample": _upload_file("utrecht_eigen.csv"), "preview": "1", **columns}
    ).content.decode()
    saved = staff.post(url, {"sheet_date_order": "dmy", "save": "1", **columns})

    assert "<th>→ order</th>" in preview
    assert "<th>→ status</th>" in preview  # "Code" is a usual heading for the status
    assert "<th><em>not used</em></th>" in preview  # Opmerking: no field named it
    assert "<td>GEPICKT</td>" in preview
    assert saved.status_code == 302
    depot.refresh_from_db()
    assert depot.sheet_columns == {
        "order": "Ordernummer",
        "line": "Regel",
        "time": "Tijdstip",
        "site": "Locatie",
        "clerk": "Medewerker",
    }
    assert depot.history.first().sheet_columns == depot.sheet_columns
    upload = depot_sheet_upload(
        source=depot, content=(FIXTURES / "utrecht_eigen.csv").read_bytes(), filename="utr.csv", user=None
    )
    assert [r.outcome for r in depot_sheet_upload_results(upload=upload)] == [RowOutcome.WAITING] * 2


@pytest.mark.django_db
def test_blank_sheet_uses_the_depots_own_headings(staff, depot):
    source_sheet_layout_set(source_id=depot.pk, columns={"order": "Ordernummer"}, date_order="dmy")

    page = staff.get(f"/admin/integrations/inboundmessage/blank-sheet/?source={depot.pk}").content.decode()

    assert "<th>Ordernummer</th>" in page
    assert "<th>line</th>" in page


@pytest.mark.django_db
def test_the_result_table_speaks_the_clerks_language(staff, depot, order_line, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            "/admin/integrations/inboundmessage/upload-sheet/",
            {"source": depot.pk, "sheet": _upload_file("hamburg_mixed.csv")},
        )

    # (the request activates German in this thread; the override puts back what was active)
    with translation.override(translation.get_language()):
        page = staff.get(response["Location"], HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert translation.get_language() != "de"
    assert "<strong>Unbekannter Auftrag</strong>" in page
    assert "Ergebnisse als CSV herunterladen" in page
