"""Demo data of the portal: a customer's order that shows what the portal does (a split line,
a shipment on its way, an internal status shown as its customer equivalent), built through the
core's services as production builds orders."""

from datetime import timedelta

from django.utils import timezone

from orders.models import Account, Asset, Order, OrderLine, Site
from orders.services import Actor, LineData, OrderData, Provenance, SplitPart, apply_status_update, order_upsert
from orders.services.shipments import ShipmentData, shipment_record
from orders.services.splitting import split_line

SOURCE = "SAP-ERP"


def showcase_order(*, account: Account, number: str, customer_reference: str, asset: Asset | None = None) -> Order:
    """An order of three lines: 10 split in two (10.1 in transit with a carrier, 10.2 awaiting
    stock), 20 awaiting kitting (customers see "being prepared"), 30 delivered. Idempotent: an
    existing order of that number is returned as it is."""
    existing = Order.objects.filter(issuer=SOURCE, number=number).first()
    if existing is not None:
        return existing
    sites = list(Site.objects.filter(region=account.region).order_by("code")[:2]) or list(Site.objects.all()[:2])
    site_code = sites[0].code if sites else ""
    now = timezone.now()
    start = now - timedelta(days=3)
    order = order_upsert(
        data=OrderData(
            number=number,
            account_number=account.number,
            customer_reference=customer_reference,
            asset_serial_number=asset.serial_number if asset else "",
            priority="P1",
            created_at=start,
            lines=(
                LineData(
                    number="10",
                    part_number="HV-2040",
                    part_description="Hydraulic valve",
                    quantity=4,
                    criticality="A",
                    site_code=site_code,
                    eta=now + timedelta(days=1),
                ),
                LineData(
                    number="20",
                    part_number="SK-118",
                    part_description="Seal kit",
                    quantity=2,
                    criticality="B",
                    site_code=site_code,
                    eta=now + timedelta(days=2),
                ),
                LineData(
                    number="30",
                    part_number="FL-900",
                    part_description="Filter element",
                    quantity=6,
                    criticality="C",
                    site_code=site_code,
                ),
            ),
        ),
        actor=Actor.integration(SOURCE),
        provenance=Provenance(source_system=SOURCE),
    )
    erp = Actor.integration(SOURCE)
    lines = {line.number: line for line in OrderLine.objects.filter(order=order)}

    def step(line: OrderLine, status: str, hours: float) -> None:
        apply_status_update(
            line_id=line.pk,
            status=status,
            occurred_at=start + timedelta(hours=hours),
            actor=erp,
            provenance=Provenance(source_system=SOURCE),
        )

    for line in lines.values():
        step(line, "released", 1)
    step(lines["10"], "allocated", 2)
    children = split_line(
        line_id=lines["10"].pk,
        parts=[SplitPart(quantity=3, site=sites[-1] if sites else None)],
        actor=erp,
        occurred_at=start + timedelta(hours=3),
    )
    shipped, waiting = children[0], children[1]
    step(shipped, "packed", 5)
    step(shipped, "shipped", 6)
    shipment_record(
        line_id=shipped.pk,
        quantity=shipped.quantity,
        data=ShipmentData(
            carrier="UPSN", tracking_number="1Z999AA10123456784", eta=now + timedelta(hours=20), location="Venlo hub"
        ),
        source_system=SOURCE,
        occurred_at=start + timedelta(hours=6),
    )
    step(shipped, "in_transit", 20)
    step(waiting, "awaiting_part", 4)
    step(lines["20"], "picking", 8)
    step(lines["20"], "awaiting_kitting", 9)
    for status, hours in (("allocated", 2), ("picking", 3), ("packed", 4), ("shipped", 5), ("delivered", 30)):
        step(lines["30"], status, hours)
    return Order.objects.get(pk=order.pk)
