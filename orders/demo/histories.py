"""Status histories of demo lines: a plan of source facts along the path, replayed through the services.

Facts are planned from the order's creation onwards; only those whose message has arrived by now are sent.
"""

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from orders.models import Criticality, Priority, ShipPolicy
from orders.services import Actor, Provenance, apply_status_update
from orders.status import LineStatus

ERP = "SAP-ERP"
FIELD_APP = "FSM-FIELDAPP"


@dataclass(frozen=True)
class Carrier:
    name: str
    scac: str
    source: str


CARRIERS = [
    Carrier("DHL", "DHLC", "CARRIER-DHL"),
    Carrier("UPS", "UPSN", "CARRIER-UPS"),
    Carrier("FedEx", "FDEN", "CARRIER-FEDEX"),
]
CARRIER_WEIGHTS = {"emea": [55, 30, 15], "amer": [15, 45, 40], "apac": [50, 20, 30]}

# Warehouse and ERP steps of an emergency take a quarter of the routine time.
SPEED = {Priority.EMERGENCY: 0.25, Priority.URGENT: 0.6, Priority.ROUTINE: 1.0}
TRANSIT_HOURS = {Priority.EMERGENCY: (4, 20), Priority.URGENT: (14, 40), Priority.ROUTINE: (30, 130)}
BACKORDER_CHANCE = {Criticality.A: 0.05, Criticality.B: 0.09, Criticality.C: 0.12}
# Minutes from a fact to its message arriving, by source name prefix: a 3PL sends IDocs in batches,
# a depot types them into a portal, a technician's app syncs when it has signal.
LATENCY_MINUTES = {
    "SAP-": (0.05, 2), "EWM-": (0.1, 5), "3PL-": (5, 90), "DEPOT-": (10, 240), "CARRIER-": (2, 45), "FSM-": (1, 240),
}  # fmt: skip

CANCEL_TEXTS = [
    "Customer cancelled: machine repaired with a locally sourced part.",
    "Customer cancelled: duplicate order entered by the dealer.",
    "Customer cancelled: equipment decommissioned.",
]
RETURN_TEXTS = [
    ("RMA_NOT_NEEDED", "Returned unused: the fault was elsewhere (RMA issued)."),
    ("RMA_WRONG_PART", "Returned: wrong variant for the machine's serial range (RMA issued)."),
]
DELAY_TEXTS = ["Delayed: missed connection at hub.", "Delayed: weather at destination airport.", "Delayed: customs."]


@dataclass(frozen=True)
class Fact:
    status: str
    occurred_at: datetime
    received_at: datetime
    source: str
    fact_id: str
    reason_code: str = ""
    reason_text: str = ""


@dataclass(frozen=True)
class LineSetting:
    """What a plan needs to know about its line."""

    priority: str
    criticality: str
    ship_policy: str
    site_name: str
    warehouse: str
    carrier: Carrier
    kitting: bool


@dataclass
class Plan:
    start: datetime
    facts: list[Fact] = field(default_factory=list)
    eta: datetime | None = None

    def due(self, rng: random.Random, now: datetime) -> list[Fact]:
        """The facts whose message has arrived by `now`, in arrival order, a few sent twice."""
        due = sorted((fact for fact in self.facts if fact.received_at <= now), key=lambda fact: fact.received_at)
        if not due and self.facts:
            # A brand-new line still gets its first fact, so that every line has a timeline.
            occurred = self.start + (now - self.start) / 2
            due = [replace(self.facts[0], occurred_at=occurred, received_at=occurred + (now - occurred) / 2)]
        # Middleware redelivered a message: the services recognise the fact and keep one row.
        # The draws happen either way, so that what comes after does not depend on the clock.
        resend, pick, delay_hours = rng.random() < 0.04, rng.random(), rng.uniform(0.5, 12)
        if due and resend:
            again = due[int(pick * len(due))]
            resent = replace(again, received_at=again.received_at + timedelta(hours=delay_hours))
            if resent.received_at <= now:
                due.append(resent)
        return due


def fulfilment_plan(
    rng: random.Random, setting: LineSetting, *, start: datetime, released: bool = False, backorder: bool | None = None
) -> Plan:
    """The facts sources will report for a line from `start`, with detours, until it ends."""
    planner = _Planner(rng, setting, start)
    planner.run(released=released, backorder=backorder)
    return planner.plan


class _Planner:
    def __init__(self, rng: random.Random, setting: LineSetting, start: datetime) -> None:
        self.rng = rng
        self.setting = setting
        self.at = start
        self.plan = Plan(start=start)
        self.speed = SPEED[setting.priority]

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def wait(self, low_hours: float, high_hours: float) -> None:
        self.at += timedelta(hours=self.rng.uniform(low_hours, high_hours))

    def add(self, status: str, source: str, reason_code: str = "", reason_text: str = "", *, skippable=False) -> None:
        # Sources lose messages: a skipped step leaves the time it took but sends nothing.
        if skippable and self.chance(0.07):
            return
        low, high = next(span for prefix, span in LATENCY_MINUTES.items() if source.startswith(prefix))
        latency = timedelta(minutes=self.rng.uniform(low, high))
        if self.chance(0.015):
            latency += timedelta(hours=self.rng.uniform(2, 30))  # stuck in a middleware queue
        fact_id = f"{self.rng.randrange(10**15, 10**16)}"  # an IDoc-like message number
        self.plan.facts.append(Fact(status, self.at, self.at + latency, source, fact_id, reason_code, reason_text))

    def promise(self, delivered_at: datetime) -> None:
        # The ETA was promised before the fact: mostly kept, sometimes missed by hours.
        eta = delivered_at + timedelta(hours=self.rng.uniform(-6, 10))
        self.plan.eta = max(eta, self.plan.start + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)

    def run(self, *, released: bool, backorder: bool | None) -> None:
        setting, rng = self.setting, self.rng
        if not released:
            if self.chance(0.02):
                self.wait(0.1, 1)
                self.add(
                    LineStatus.ON_HOLD, ERP, "CREDIT_BLOCK", "Credit limit exceeded; waiting for credit management."
                )
                self.wait(4, 72)
            else:
                self.wait(0.05, 3 * self.speed)
            self.add(LineStatus.RELEASED, ERP)
        self.promise(self.at + timedelta(hours=sum(TRANSIT_HOURS[setting.priority]) / 2 + 24 * self.speed))
        if self.chance(0.015):
            self.wait(1, 48)
            self.add(LineStatus.CANCELLED, ERP, "CUSTOMER_CANCEL", rng.choice(CANCEL_TEXTS))
            return
        if backorder is None:
            backorder = self.chance(BACKORDER_CHANCE[setting.criticality])
        if backorder:
            self.wait(0.02, 0.5)
            self.add(
                LineStatus.AWAITING_PART,
                ERP,
                "NO_STOCK",
                f"No unrestricted stock at {setting.site_name}; replenishing.",
            )
            if setting.ship_policy == ShipPolicy.PARTIAL_CANCEL and self.chance(0.4):
                self.wait(24, 96)
                self.add(
                    LineStatus.CANCELLED,
                    ERP,
                    "BACKORDER_CANCELLED",
                    "Ship partial, cancel the rest: backorder cancelled.",
                )
                return
            self.wait(*((12, 96) if setting.criticality == Criticality.A else (48, 480)))
        self.warehouse()
        self.carriage()

    def warehouse(self) -> None:
        warehouse, speed = self.setting.warehouse, self.speed
        self.wait(0.05, 2 * speed)
        self.add(LineStatus.ALLOCATED, ERP, skippable=True)
        self.wait(0.3, 10 * speed)
        self.add(LineStatus.PICKING, warehouse, skippable=True)
        if self.chance(0.02):
            self.wait(0.2, 1)
            self.add(LineStatus.EXCEPTION, warehouse, "BIN_EMPTY", "Pick location empty; cycle count requested.")
            self.wait(1, 6)
            self.add(LineStatus.AWAITING_PART, ERP, "SHORT_PICK", "Short pick confirmed; quantity backordered.")
            self.wait(24, 120)
            self.add(LineStatus.ALLOCATED, ERP)
            self.wait(0.3, 8 * speed)
            self.add(LineStatus.PICKING, warehouse)
        if self.setting.kitting:
            self.wait(0.5, 3 * speed)
            self.add(LineStatus.AWAITING_KITTING, warehouse)
            self.wait(2, 40 * speed)  # the kitting bench has a queue
        else:
            self.wait(0.3, 3 * speed)
        self.add(LineStatus.PACKED, warehouse, skippable=True)
        if self.chance(0.015):
            self.add(LineStatus.ON_HOLD, warehouse, "QUALITY_HOLD", "Held for quality inspection: packaging damaged.")
            self.wait(12, 120)
        elif self.setting.priority == Priority.ROUTINE and self.chance(0.04):
            self.wait(0.5, 12)
            self.add(
                LineStatus.ON_HOLD, ERP, "CUSTOMER_REQUEST", "Customer asked to hold delivery until the site is ready."
            )
            self.wait(48, 720)
        self.wait(0.5, 8 * speed)
        self.add(LineStatus.SHIPPED, warehouse)

    def carriage(self) -> None:
        rng, carrier = self.rng, self.setting.carrier.source
        transit = rng.uniform(*TRANSIT_HOURS[self.setting.priority])
        self.wait(0.5, 4)
        self.add(LineStatus.IN_TRANSIT, carrier, "AF", "Departed pick-up location.", skippable=True)
        for _scan in range(rng.choice([0, 0, 1, 2])):
            # Further en-route scans repeat the status: recorded as confirmations.
            self.wait(transit * 0.1, transit * 0.3)
            self.add(LineStatus.IN_TRANSIT, carrier, "X6", "En route.")
        if self.chance(0.06):
            self.wait(1, transit * 0.3)
            trouble = rng.choices(["SD", "A9", "LOST"], weights=[6, 2, 2])[0]
            if trouble == "A9":
                self.add(LineStatus.EXCEPTION, carrier, "A9", "Damaged: crushed carton reported at hub.")
                self.wait(48, 150)
                self.add(
                    LineStatus.RETURNED, ERP, "DAMAGED_IN_TRANSIT", "Returned to the DC; replacement on a new order."
                )
                return
            if trouble == "SD":
                self.add(LineStatus.EXCEPTION, carrier, "SD", rng.choice(DELAY_TEXTS))
                self.wait(6, 48)
            else:
                self.wait(48, 60)
                self.add(LineStatus.EXCEPTION, carrier, "LOST", "No scan for 48 hours; carrier trace opened.")
                self.wait(96, 400)
            self.add(LineStatus.IN_TRANSIT, carrier, "X6", "En route.")
        self.wait(transit * 0.3, transit * 0.6)
        self.add(LineStatus.OUT_FOR_DELIVERY, carrier, skippable=True)
        self.wait(0.5, 8)
        self.add(LineStatus.DELIVERED, carrier, "D1", "Delivered, proof of delivery signed.")
        self.promise(self.at)
        if self.chance(0.015):
            self.wait(48, 240)
            self.add(LineStatus.RETURNED, ERP, *rng.choice(RETURN_TEXTS))
        elif self.chance(0.6):
            self.wait(1, 72)
            self.add(LineStatus.VERIFIED, FIELD_APP)


def facts_replay(line_id: int, facts: list[Fact]) -> dict[str, int]:
    """Send the facts through apply_status_update as their sources would. Returns outcome counts."""
    outcomes: dict[str, int] = {}
    for fact in facts:
        result = apply_status_update(
            line_id=line_id,
            status=fact.status,
            occurred_at=fact.occurred_at,
            actor=Actor.integration(fact.source),
            provenance=Provenance(
                source_system=fact.source, reason_code=fact.reason_code, reason_text=fact.reason_text
            ),
            fact_id=fact.fact_id,
            received_at=fact.received_at,
            publish=False,
        )
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    return outcomes
