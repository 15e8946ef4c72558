"""Source systems and how their status codes map to the canonical vocabulary (audited)."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from integrations.models.inbox import Transport
from orders.status import LineStatus


class SourceKind(models.TextChoices):
    ERP = "erp", _("ERP")  # SAP S/4 or ECC: orders, deliveries, goods issue
    WMS = "wms", _("Warehouse management")  # EWM or another WMS: picking, packing
    TMS = "tms", _("Transport management")  # plans and tenders shipments
    THIRD_PARTY_LOGISTICS = "3pl", _("Third-party logistics")  # a 3PL's warehouse system
    CARRIER = "carrier", _("Carrier")  # X12 214 or a carrier's API
    FIELD_SERVICE = "field_service", _("Field service")  # the technician's app
    DEPOT = "depot", _("Depot")  # paper sheets, scanners


class MessageFormat(models.TextChoices):
    CANONICAL_JSON = "canonical_json", _("Canonical JSON")  # our own documented schema
    SAP_IDOC_XML = "sap_idoc_xml", _("SAP IDoc XML (DELVRY)")  # SHPCON, WHSCON, DESADV
    X12_214 = "x12_214", _("ANSI X12 214")  # carrier shipment status
    CSV_DEPOT = "csv_depot", _("Depot CSV sheet")  # paper-based depots
    MQTT_SCAN = "mqtt_scan", _("Scanner JSON (MQTT)")  # depot scanners


# Where every line starts: no fact moves a line there, so a code mapped to it could never apply.
UNREACHABLE_BY_FACTS = frozenset({LineStatus.RECEIVED})
UNREACHABLE_MESSAGE = _(
    "No source fact can move a line to “%(status)s”: every line starts there. Map the code to the "
    "status the source means (released, for an order accepted for fulfilment), or leave it unmapped."
)


class SheetDateOrder(models.TextChoices):
    DAY_FIRST = "dmy", _("day first: 02.11.2026 or 02/11/2026")  # Europe
    MONTH_FIRST = "mdy", _("month first: 11/02/2026")  # United States
    ISO = "ymd", _("year first only: 2026-11-02")  # ISO 8601


class SourceSystem(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=SourceKind.choices)
    message_format = models.CharField(_("message format"), max_length=20, choices=MessageFormat.choices)
    transport = models.CharField(_("transport"), max_length=10, choices=Transport.choices, default=Transport.WEBHOOK)
    # Two secrets are valid while a rotation is under way; the previous one until it expires.
    secret = models.CharField(_("shared secret"), max_length=200, blank=True)
    previous_secret = models.CharField(_("previous secret"), max_length=200, blank=True)
    previous_secret_expires_at = models.DateTimeField(_("previous secret valid until"), null=True, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", help_text=_("For timestamps the source sends without a zone.")
    )
    expected_interval = models.DurationField(
        _("expected update interval"),
        default=timedelta(hours=1),
        help_text=_("Overdue when nothing has arrived for this long."),
    )
    clock_tolerance = models.DurationField(
        _("clock tolerance"),
        default=timedelta(0),
        help_text=_(
            "How far this source's clock may be off. A step back it reports (a short pick, a lost "
            "allocation) undoes a forward step only when it is later than that step by more than this."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    # Transport settings: MQTT topic filter, or the URL and interval of a polled REST source.
    mqtt_topic = models.CharField(_("MQTT topic"), max_length=200, blank=True)
    poll_url = models.URLField(_("poll URL"), blank=True)
    poll_interval = models.DurationField(_("poll interval"), default=timedelta(minutes=5))
    poll_cursor = models.CharField(_("poll cursor"), max_length=200, blank=True)
    poll_failures = models.PositiveIntegerField(_("consecutive poll failures"), default=0)
    next_poll_at = models.DateTimeField(_("next poll at"), null=True, blank=True)
    last_poll_error = models.TextField(_("last poll error"), blank=True)
    # Depot sheets: which heading holds which field ({"order": "Ref.", ...}); a field left out is
    # found by its common spellings. Set in the admin with a preview of a sample sheet.
    sheet_columns = models.JSONField(_("sheet columns"), default=dict, blank=True)
    sheet_date_order = models.CharField(
        _("sheet date order"),
        max_length=3,
        choices=SheetDateOrder.choices,
        default=SheetDateOrder.DAY_FIRST,
        help_text=_("How the depot writes dates. 2026-11-02 is always understood."),
    )

    # Secrets stay out of the history tables; poll bookkeeping changes on every poll and is saved
    # without a history row (skip_history_when_saving).
    history = HistoricalRecords(
        excluded_fields=[
            "secret",
            "previous_secret",
            "poll_cursor",
            "poll_failures",
            "next_poll_at",
            "last_poll_error",
        ]
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("source system")
        verbose_name_plural = _("source systems")

    def __str__(self) -> str:
        return self.code

    def valid_secrets(self, *, now: datetime | None = None) -> list[str]:
        now = now or timezone.now()
        secrets = [self.secret] if self.secret else []
        if self.previous_secret and (self.previous_secret_expires_at is None or self.previous_secret_expires_at > now):
            secrets.append(self.previous_secret)
        return secrets


class StatusMapping(models.Model):
    """(source, external code[, qualifier]) → canonical status, versioned and effective-dated.

    A new version is a new row: the old one gets `valid_until`, so a replayed message maps
    with the rules that were in force when its fact happened.
    """

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="mappings")
    external_code = models.CharField(_("external code"), max_length=40)
    qualifier = models.CharField(
        _("qualifier"), max_length=40, blank=True, help_text=_("IDoc qualifier, X12 reason code, … Blank: any.")
    )
    status = models.CharField(_("canonical status"), max_length=20, choices=LineStatus.choices)
    reason_code = models.CharField(_("reason code"), max_length=40, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["source", "external_code", "qualifier", "-version"]
        verbose_name = _("status code mapping")
        verbose_name_plural = _("status code mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_code", "qualifier", "version"], name="unique_mapping_version"
            )
        ]
        indexes = [models.Index(fields=["source", "external_code", "qualifier"], name="mapping_lookup")]

    def __str__(self) -> str:
        code = f"{self.external_code}/{self.qualifier}" if self.qualifier else self.external_code
        return f"{self.source.code}: {code} → {self.status} (v{self.version})"

    def clean(self) -> None:
        super().clean()
        if self.status in UNREACHABLE_BY_FACTS:
            raise ValidationError({"status": UNREACHABLE_MESSAGE % {"status": self.status}})
