"""The demo network's source systems with their status code mappings (idempotent)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from integrations.models import MessageFormat, SourceKind, SourceSystem, StatusMapping, Transport

SAP_CODES = {"PIC": "picking", "PGI": "shipped", "QUA": "picking", "DESADV": "shipped"}
CARRIER_CODES = {
    "X3": ("packed", "arrived_at_pickup"),
    "AF": ("shipped", "departed_pickup"),
    "X6": ("in_transit", "en_route"),
    "X1": ("out_for_delivery", "arrived_at_delivery_location"),
    "D1": ("delivered", "delivered"),
    "A9": ("exception", "damaged"),
    "SD": ("exception", "delayed"),
    "AH": ("exception", "delivery_attempted"),
    "A7": ("exception", "refused_by_consignee"),
    "CA": ("exception", "shipment_cancelled_by_carrier"),
}
DEPOT_CODES = {"PICKED": "picking", "PACKED": "packed", "SHIPPED": "shipped", "LOADED": "shipped", "ON_HOLD": "on_hold"}

# code, name, kind, format, transport, time zone, expected interval (hours), mappings
SOURCES = [
    (
        "SAP-ERP",
        "SAP S/4HANA (ERP)",
        SourceKind.ERP,
        MessageFormat.SAP_IDOC_XML,
        Transport.WEBHOOK,
        "Europe/Berlin",
        1,
        SAP_CODES,
    ),
    (
        "EWM-RTM",
        "SAP EWM Rotterdam",
        SourceKind.WMS,
        MessageFormat.SAP_IDOC_XML,
        Transport.WEBHOOK,
        "Europe/Amsterdam",
        1,
        SAP_CODES,
    ),
    (
        "EWM-MEM",
        "SAP EWM Memphis",
        SourceKind.WMS,
        MessageFormat.SAP_IDOC_XML,
        Transport.WEBHOOK,
        "America/Chicago",
        1,
        SAP_CODES,
    ),
    (
        "EWM-SIN",
        "SAP EWM Singapore",
        SourceKind.WMS,
        MessageFormat.SAP_IDOC_XML,
        Transport.WEBHOOK,
        "Asia/Singapore",
        1,
        SAP_CODES,
    ),
    (
        "3PL-IBERLOG",
        "Iberlog 3PL Madrid",
        SourceKind.THIRD_PARTY_LOGISTICS,
        MessageFormat.CANONICAL_JSON,
        Transport.POLL,
        "Europe/Madrid",
        4,
        {},
    ),
    ("DEPOT-PORTAL", "Depot sheets", SourceKind.DEPOT, MessageFormat.CSV_DEPOT, Transport.FILE, "UTC", 24, DEPOT_CODES),
    (
        "SCAN-RTM",
        "Rotterdam depot scanners",
        SourceKind.DEPOT,
        MessageFormat.MQTT_SCAN,
        Transport.MQTT,
        "Europe/Amsterdam",
        2,
        DEPOT_CODES,
    ),
    (
        "CARRIER-DHL",
        "DHL (X12 214)",
        SourceKind.CARRIER,
        MessageFormat.X12_214,
        Transport.WEBHOOK,
        "Europe/Berlin",
        2,
        CARRIER_CODES,
    ),
    (
        "CARRIER-UPS",
        "UPS (X12 214)",
        SourceKind.CARRIER,
        MessageFormat.X12_214,
        Transport.WEBHOOK,
        "America/New_York",
        2,
        CARRIER_CODES,
    ),
    (
        "CARRIER-FEDEX",
        "FedEx (X12 214)",
        SourceKind.CARRIER,
        MessageFormat.X12_214,
        Transport.WEBHOOK,
        "America/Chicago",
        2,
        CARRIER_CODES,
    ),
    (
        "FSM-FIELDAPP",
        "Field service app",
        SourceKind.FIELD_SERVICE,
        MessageFormat.CANONICAL_JSON,
        Transport.WEBHOOK,
        "UTC",
        8,
        {},
    ),
]
# The one secret every demo source used to share: a demo database that still has it gets a
# distinct secret per source.
SHARED_DEMO_SECRET = "demo-webhook-secret-change-me"


class Command(BaseCommand):
    help = "Create the demo source systems and their code mappings (existing ones are left alone)."

    @transaction.atomic
    def handle(self, *args, **options):
        created = 0
        for code, name, kind, message_format, transport, zone, hours, codes in SOURCES:
            source, is_new = SourceSystem.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "kind": kind,
                    "message_format": message_format,
                    "transport": transport,
                    "time_zone": zone,
                    "expected_interval": timedelta(hours=hours),
                    # Each its own: a message signed for one source is no good at another's URL.
                    "secret": get_random_string(40),
                    "mqtt_topic": "depots/rtm/scans" if transport == Transport.MQTT else "",
                },
            )
            if not is_new:
                if source.secret == SHARED_DEMO_SECRET:
                    source.secret = get_random_string(40)
                    source.save(update_fields=["secret"])
                continue
            created += 1
            for external_code, target in codes.items():
                status, reason = target if isinstance(target, tuple) else (target, "")
                StatusMapping.objects.create(
                    source=source,
                    external_code=external_code,
                    status=status,
                    reason_code=reason,
                    valid_from=timezone.now() - timedelta(days=365),
                )
        self.stdout.write(f"Demo sources: {created} created, {len(SOURCES) - created} already there.")
        if settings.DEBUG:
            # Printed on every `make run`, so the developer can sign messages for the demo sources.
            self.stdout.write('Webhook secrets (development only; sign "<t>.<source code>.<body>" for v2):')
            for source in SourceSystem.objects.filter(code__in=[row[0] for row in SOURCES]).order_by("code"):
                self.stdout.write(f"  {source.code}: {source.secret}")
