"""Orders and order lines; the line carries the status state machine.

Transitions only change fields in memory. `orders.services.status` is the one place that
calls them, saves the line and writes the event row.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from orders.models.reference import Account, Asset, Part, Region, Site
from orders.status import (
    AFTER_SHIPPING,
    BEFORE_SHIPPING,
    INTERRUPTIONS,
    PATH,
    RANK,
    TERMINAL,
    UNDELIVERED,
    LineStatus,
    sources_before,
)


class ShipPolicy(models.TextChoices):
    # EDIFACT 4493 codes.
    SHIP_COMPLETE = "SC", _("Ship complete")  # deliver only when every line is ready
    PARTIAL_BACKORDER = "BK", _("Ship partial, backorder the rest")  # ship what is there, rest follows
    PARTIAL_CANCEL = "SP", _("Ship partial, cancel the rest")  # ship what is there, cancel the rest


class Priority(models.TextChoices):
    EMERGENCY = "P1", _("P1 emergency")  # machine down, same day
    URGENT = "P2", _("P2 urgent")  # next day
    ROUTINE = "P3", _("P3 routine")  # standard lead time


class Order(models.Model):
    # Opaque and not sequential: the id in every URL and API outside the back office.
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(_("order number"), max_length=30)
    # The code of the source system (the ERP) that owns the number: numbers are unique per issuer.
    # Blank for orders entered here (back office, demo data).
    issuer = models.CharField(_("number issued by"), max_length=40, blank=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="orders", verbose_name=_("account"))
    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, null=True, blank=True, related_name="orders", verbose_name=_("asset")
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="orders", verbose_name=_("region"))
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices, default=Priority.ROUTINE)
    ship_policy = models.CharField(
        _("ship policy"), max_length=2, choices=ShipPolicy.choices, default=ShipPolicy.PARTIAL_BACKORDER
    )
    customer_reference = models.CharField(_("customer reference"), max_length=60, blank=True)
    requested_date = models.DateField(_("requested date"), null=True, blank=True)
    promised_date = models.DateField(_("promised date"), null=True, blank=True)
    is_test = models.BooleanField(
        _("test order"), default=False, help_text=_("Test and training orders are kept out of reports.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    # Rollup of the leaf lines, recomputed by orders.services.rollup on every change.
    status = models.CharField(
        _("status"), max_length=20, choices=LineStatus.choices, default=LineStatus.RECEIVED, db_index=True
    )
    progress_percent = models.DecimalField(_("progress (%)"), max_digits=5, decimal_places=2, default=0)
    earliest_eta = models.DateTimeField(_("earliest ETA"), null=True, blank=True)
    latest_eta = models.DateTimeField(_("latest ETA"), null=True, blank=True)
    # Per-order sequence of outbox rows, so a consumer can order and deduplicate the changes.
    outbox_sequence = models.PositiveBigIntegerField(_("changes published"), default=0)
    # What the order's views show but no outbox event versions changed (a contact): part of every
    # view's version (orders.read_models.cache.view_version). Not updated_at: the order's place in
    # "newest change first" lists must not move for it. (A line edited in the admin is published
    # as line.edited; one whose ETA changes or a new line refreshes the rollup, moving updated_at.)
    view_changed_at = models.DateTimeField(_("views changed at"), null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["outbox_sequence", "view_changed_at"])

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["-updated_at", "-id"], name="order_feed"),
            models.Index(fields=["number"], name="order_number_lookup"),
            # Search by the customer's own reference (PO): back office and portal.
            models.Index(fields=["customer_reference"], name="order_customer_reference"),
        ]
        constraints = [models.UniqueConstraint(fields=["issuer", "number"], name="unique_order_number_per_issuer")]

    def __str__(self) -> str:
        return self.number


def _is_leaf(line: "OrderLine") -> bool:
    return not line.is_split


def _is_split(line: "OrderLine") -> bool:
    return line.is_split


def _requested_status(line: "OrderLine", status: str) -> str:
    return status


def _interrupted_before(line: "OrderLine", statuses) -> bool:
    """Out of a hold or exception only where the line could have gone from where it was."""
    if line.status not in INTERRUPTIONS or not line.status_before_interruption:
        return True
    return line.status_before_interruption in statuses


def _forward(name: str, target: str, *, also_from: tuple[str, ...] = ()):
    """A transition to `target` from any earlier path status or `also_from`, or out of a hold or
    exception that interrupted one of those (or `target` itself)."""
    path_sources = (*PATH[: RANK[target]], *also_from, target)

    def move(self: "OrderLine") -> None:
        self.status_before_interruption = ""

    def resumes_in_order(line: "OrderLine") -> bool:
        return _interrupted_before(line, path_sources)

    move.__name__ = move.__qualname__ = name
    move.__doc__ = f"Move the line forward to {target}."
    return transition(
        field="status",
        source=[*sources_before(target), *also_from],
        target=target,
        conditions=[_is_leaf, resumes_in_order],
    )(move)


def _not_shipped_yet(line: "OrderLine") -> bool:
    return _interrupted_before(line, BEFORE_SHIPPING)


def _shipped_already(line: "OrderLine") -> bool:
    return _interrupted_before(line, AFTER_SHIPPING)


class OrderLine(FSMModelMixin, models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines", verbose_name=_("order"))
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("split from"),
    )
    number = models.CharField(
        _("line number"), max_length=30, help_text=_("A split's children are numbered 10.1, 10.2, …")
    )
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="order_lines", verbose_name=_("part"))
    quantity = models.PositiveIntegerField(_("quantity"))
    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="order_lines",
        verbose_name=_("fulfilling site"),
    )
    eta = models.DateTimeField(_("ETA"), null=True, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=60, blank=True)
    carrier = models.CharField(_("carrier (SCAC)"), max_length=10, blank=True)
    is_split = models.BooleanField(_("split into child lines"), default=False)
    # Ship-complete orders: how much of the line a partial confirmation said is ready ("6 of 10").
    quantity_ready = models.PositiveIntegerField(_("quantity ready"), default=0)

    status = FSMField(_("status"), default=LineStatus.RECEIVED, choices=LineStatus.choices, protected=True)
    status_before_interruption = models.CharField(
        _("status before hold or exception"), max_length=20, choices=LineStatus.choices, blank=True
    )
    status_occurred_at = models.DateTimeField(
        _("status occurred at"), null=True, blank=True, help_text=_("Source clock of the fact behind the status.")
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    # Source time of the fact behind the path status (the one a hold or exception interrupted).
    path_occurred_at = models.DateTimeField(_("path status occurred at"), null=True, blank=True)
    # Where the line started: received with the order's source creation time (or none), or, for
    # a split child, where its parent was. orders.services.decide replays late facts from here.
    start_status = models.CharField(
        _("start status"), max_length=20, choices=LineStatus.choices, default=LineStatus.RECEIVED
    )
    start_path_status = models.CharField(_("start path status"), max_length=20, choices=LineStatus.choices, blank=True)
    start_occurred_at = models.DateTimeField(_("start occurred at"), null=True, blank=True)
    start_path_occurred_at = models.DateTimeField(_("start path status occurred at"), null=True, blank=True)
    # The latest fact recorded, in decision order (source time, source sequence, fact key): a
    # fact that sorts after it is one fold step; one that sorts before it replays the line.
    latest_fact_at = models.DateTimeField(_("latest fact at"), null=True, blank=True)
    latest_fact_sequence = models.BigIntegerField(_("latest fact sequence"), null=True, blank=True)
    latest_fact_key = models.CharField(_("latest fact key"), max_length=200, blank=True)
    # Set by an override "held until the source confirms": a source fact that disagrees with it
    # is recorded as contested (and a discrepancy opens) instead of moving the line.
    held_status = models.CharField(
        _("override held until a source confirms"), max_length=20, choices=LineStatus.choices, blank=True
    )
    # Head of the per-line hash chain of StatusEvent rows: catches a deleted last event.
    audit_sequence = models.PositiveIntegerField(_("events recorded"), default=0)
    audit_head = models.CharField(_("audit chain head"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(bases=[FSMModelMixin, models.Model])

    class Meta:
        ordering = ["order_id", "number"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="unique_line_number_per_order"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="line_quantity_positive"),
        ]
        indexes = [models.Index(fields=["status"], name="line_status")]
        permissions = [("override_line_status", _("Can override a line status"))]

    def __str__(self) -> str:
        return f"{self.order.number}/{self.number}"

    @property
    def progress_status(self) -> str:
        """The path status that counts for progress: the one before a hold or exception."""
        return self.status_before_interruption or self.status

    # Forward moves along the path; any step may be skipped because sources lose messages.
    release = _forward("release", LineStatus.RELEASED)
    # Backorder also from allocated, picking or packed (anything not shipped yet): the reservation
    # was lost, the pick came up short, or a partial goods issue left the rest behind.
    backorder = _forward(
        "backorder",
        LineStatus.AWAITING_PART,
        also_from=(LineStatus.ALLOCATED, LineStatus.PICKING, LineStatus.AWAITING_KITTING, LineStatus.PACKED),
    )
    allocate = _forward("allocate", LineStatus.ALLOCATED)
    start_picking = _forward("start_picking", LineStatus.PICKING)
    await_kitting = _forward("await_kitting", LineStatus.AWAITING_KITTING)
    pack = _forward("pack", LineStatus.PACKED)
    ship = _forward("ship", LineStatus.SHIPPED)
    mark_in_transit = _forward("mark_in_transit", LineStatus.IN_TRANSIT)
    mark_out_for_delivery = _forward("mark_out_for_delivery", LineStatus.OUT_FOR_DELIVERY)
    deliver = _forward("deliver", LineStatus.DELIVERED)
    verify = _forward("verify", LineStatus.VERIFIED)

    @transition(
        field=status, source=[*UNDELIVERED, LineStatus.EXCEPTION], target=LineStatus.ON_HOLD, conditions=[_is_leaf]
    )
    def hold(self) -> None:
        self._remember_path_status()

    @transition(
        field=status,
        source=[*PATH[: RANK[LineStatus.VERIFIED]], LineStatus.ON_HOLD],
        target=LineStatus.EXCEPTION,
        conditions=[_is_leaf],
    )
    def report_exception(self) -> None:
        self._remember_path_status()

    @transition(
        field=status,
        source=[*BEFORE_SHIPPING, *INTERRUPTIONS],
        target=LineStatus.CANCELLED,
        conditions=[_is_leaf, _not_shipped_yet],
    )
    def cancel(self) -> None:
        pass

    # Not from verified: like cancelled and returned it is an end state, left only by an override.
    @transition(
        field=status,
        source=[*(step for step in AFTER_SHIPPING if step not in TERMINAL), *INTERRUPTIONS],
        target=LineStatus.RETURNED,
        conditions=[_is_leaf, _shipped_already],
    )
    def mark_returned(self) -> None:
        self.status_before_interruption = ""

    @transition(
        field=status,
        source="*",
        target=GET_STATE(_requested_status, states=LineStatus.values),
        permission="orders.override_line_status",
        conditions=[_is_leaf],
    )
    def override(self, status: str) -> None:
        """Any move, backwards included: only through orders.services.status.line_status_override."""
        if status in INTERRUPTIONS:
            # A hold or exception set by hand still counts the progress of where the line was.
            self._remember_path_status()
        else:
            self.status_before_interruption = ""

    @transition(
        field=status,
        source="*",
        target=GET_STATE(_requested_status, states=LineStatus.values),
        conditions=[_is_leaf],
    )
    def take_decided_status(self, status: str) -> None:
        """A late fact re-ordered the line's facts: the line takes the status their replay in
        source-time order gives (orders.services.decide judged every step with this machine)."""

    @transition(
        field=status,
        source="*",
        target=GET_STATE(_requested_status, states=LineStatus.values),
        conditions=[_is_split],
    )
    def take_rollup_status(self, status: str) -> None:
        """A split parent shows the rolled-up status of its children."""

    def _remember_path_status(self) -> None:
        if self.status in RANK:
            self.status_before_interruption = self.status


# The transition a source fact for each status goes through.
TRANSITION_FOR_STATUS: dict[str, str] = {
    LineStatus.RELEASED: "release",
    LineStatus.AWAITING_PART: "backorder",
    LineStatus.ALLOCATED: "allocate",
    LineStatus.PICKING: "start_picking",
    LineStatus.AWAITING_KITTING: "await_kitting",
    LineStatus.PACKED: "pack",
    LineStatus.SHIPPED: "ship",
    LineStatus.IN_TRANSIT: "mark_in_transit",
    LineStatus.OUT_FOR_DELIVERY: "mark_out_for_delivery",
    LineStatus.DELIVERED: "deliver",
    LineStatus.VERIFIED: "verify",
    LineStatus.ON_HOLD: "hold",
    LineStatus.EXCEPTION: "report_exception",
    LineStatus.CANCELLED: "cancel",
    LineStatus.RETURNED: "mark_returned",
}
