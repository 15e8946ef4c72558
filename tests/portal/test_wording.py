"""How the portal's words read to a person in each language: the expected-arrival label, the
one-line summary, what the progress bar says it measures, and carriers named as well as coded."""

from datetime import timedelta

import pytest

from orders.services.rollup import order_rollup_refresh
from orders.services.shipments import ShipmentData, shipment_record
from tests.portal.fixtures import order_and_list_pages, signed_in

pytestmark = pytest.mark.django_db

ARRIVAL = {"de": "Voraussichtlich", "fr": "Arrivée prévue", "es": "Llegada prevista"}
# The list row says when the next part comes while some parts have no date yet.
NEXT_PART = {"de": "nächstes Teil:", "fr": "prochaine pièce le", "es": "próxima pieza el"}


@pytest.mark.parametrize("language", ["de", "fr", "es"])
def test_the_expected_arrival_is_labelled_in_the_persons_language(order, showcase, customer, technician, t0, language):
    showcase["20"].eta = t0 + timedelta(days=3)
    showcase["20"].save(update_fields=["eta"])
    order_rollup_refresh(order_id=order.pk)

    order_page = signed_in(customer, language).get(f"/portal/orders/{order.public_id}/").content.decode()
    list_page = signed_in(customer, language).get("/portal/").content.decode()
    parts_page = signed_in(technician, language).get("/tech/").content.decode()

    assert f"<th>{ARRIVAL[language]}</th>" in order_page  # the lines' column
    assert f'data-label="{ARRIVAL[language]}"' in order_page  # the phone layout's cell label
    assert f'data-eta="{ARRIVAL[language]}"' in order_page  # what a live update writes
    assert NEXT_PART[language] in list_page and ARRIVAL[language] in parts_page
    for page in (order_page, list_page, parts_page):
        assert ">ETA<" not in page and "· ETA " not in page and '"ETA"' not in page


@pytest.mark.parametrize(
    ("language", "summary"),
    [
        ("en", "2 of 4 lines shipped · Awaiting stock: 1 · Being prepared: 1"),
        ("de", "2 von 4 Positionen versandt · Warten auf Lagerbestand: 1 · Wird vorbereitet: 1"),
        ("fr", "2 sur 4 lignes expédiées · En attente de stock : 1 · En préparation : 1"),
        ("es", "2 de 4 líneas enviadas · Pendiente de stock: 1 · En preparación: 1"),
    ],
)
def test_the_summary_gives_each_status_a_piece_of_its_own(order, showcase, customer, language, summary):
    order_page, list_page = order_and_list_pages(signed_in(customer, language), order)

    assert f'id="order-summary">{summary}</p>' in order_page
    assert f'<p class="pt-summary">{summary}' in list_page


def _bar(page: str, marker: str = 'class="pt-progress"') -> str:
    return page.split(marker)[1].split(">")[0]


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "Progress towards delivery: {}%"),
        ("de", "Fortschritt bis zur Lieferung: {} %"),
        ("fr", "Avancement vers la livraison : {} %"),
        ("es", "Avance hacia la entrega: {} %"),
    ],
)
def test_the_progress_bar_says_what_it_measures(order, showcase, customer, language, said):
    order_page, list_page = order_and_list_pages(signed_in(customer, language), order)

    percent = f"{order.progress_percent:.0f}"
    for bar in (_bar(order_page), _bar(list_page)):
        assert f'aria-valuenow="{percent}"' in bar
        assert f'title="{said.format(percent)}"' in bar and f'aria-valuetext="{said.format(percent)}"' in bar
    # a live update writes the same words with the new figure
    assert f'data-progress="{said.format("{percent}")}"' in order_page


def test_carriers_are_named_with_their_code_where_the_name_is_known(order, showcase, customer, technician, t0):
    # line 30 went with a carrier whose name is not known here
    shipment_record(
        line_id=showcase["30"].pk,
        quantity=6,
        data=ShipmentData(carrier="ZZTL", tracking_number="ZZ-1"),
        source_system="SAP-ERP",
        occurred_at=t0 + timedelta(hours=1),
    )
    customer_client = signed_in(customer)

    order_page = customer_client.get(f"/portal/orders/{order.public_id}/").content.decode()
    part_page = signed_in(technician).get(f"/tech/parts/{showcase['10.1'].public_id}/").content.decode()
    live = customer_client.get(f"/portal/orders/{order.public_id}/live/").json()

    assert '<strong class="shipment-carrier">UPS (UPSN)</strong>' in order_page
    assert '<strong class="shipment-carrier">ZZTL</strong>' in order_page
    assert '<strong class="shipment-carrier">UPS (UPSN)</strong>' in part_page
    line_10_1 = part_page.split(f'id="line-{showcase["10.1"].public_id}"')[1].split("</tr>")[0]
    assert (
        '>UPS (UPSN) <span class="tracking-number">1Z999AA10123456784</span></td>' in line_10_1
    )  # the technician's carrier column
    # a live update (polling or websocket: the same change) writes what the page wrote
    assert [shipment["carrier_display"] for shipment in live["state"]["shipments"]] == ["UPS (UPSN)", "ZZTL"]
