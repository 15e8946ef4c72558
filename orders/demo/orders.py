"""Demo orders: header, lines and line references, with each line's history replayed through the services.

One order is one transaction; some lines are split between their own site and another one.
"""

import random
import string
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import transaction

from orders.demo.histories import (
    CARRIER_WEIGHTS,
    CARRIERS,
    ERP,
    SPEED,
    Fact,
    LineSetting,
    Plan,
    facts_replay,
    fulfilment_plan,
)
from orders.demo.network import Network
from orders.models import Account, LineReference, Order, OrderLine, Part, Priority, ShipPolicy, Site
from orders.services import Actor, SplitPart, split_line
from orders.status import AFTER_SHIPPING, LineStatus

ORDER_PREFIX = "SO-"
FIRST_SEQUENCE = 4500001  # SAP-like sales order numbers
HISTORY_DAYS = 60
# About half of the lines can be split (quantity of 2 or more); this splits about 8 % of all lines.
SPLIT_CHANCE = 0.105
PRIORITY_BY_CRITICALITY = {"A": [70, 25, 5], "B": [12, 55, 33], "C": [3, 17, 80]}
LINE_COUNT_WEIGHTS = [35, 25, 20, 12, 8]
SHIP_POLICY_WEIGHTS = {ShipPolicy.SHIP_COMPLETE: 20, ShipPolicy.PARTIAL_BACKORDER: 65, ShipPolicy.PARTIAL_CANCEL: 15}
# Emergencies are served from forward stocking locations near the customer where possible.
SITE_KIND_WEIGHTS = {
    Priority.EMERGENCY: {"dc": 30, "fsl": 50, "3pl": 10, "depot": 10},
    Priority.URGENT: {"dc": 50, "fsl": 25, "3pl": 15, "depot": 10},
    Priority.ROUTINE: {"dc": 55, "fsl": 15, "3pl": 15, "depot": 15},
}
BULK_CATEGORIES = {"seals", "filters", "wear parts"}
KITTING_CATEGORIES = {"seals", "hydraulics", "control boards"}
SHIPPED = {*AFTER_SHIPPING, LineStatus.RETURNED}


@dataclass
class SeedTally:
    orders: int = 0
    lines: int = 0
    splits: int = 0
    outcomes: Counter = field(default_factory=Counter)


@dataclass
class _Leaf:
    """A line that receives facts: an unsplit line or a split child."""

    site: Site
    setting: LineSetting
    plan: Plan
    due: list[Fact]

    @property
    def shipped(self) -> bool:
        return any(fact.status in SHIPPED for fact in self.due)


@dataclass
class _Draft:
    number: str
    part: Part
    quantity: int
    leaf: _Leaf
    # For a split line: the release before the split, when it happens, and the child at the other site.
    release: Fact | None = None
    other: _Leaf | None = None
    other_quantity: int = 0


def next_order_sequence() -> int:
    """The number after the highest SO- order, so that added orders never collide."""
    numbers = Order.objects.filter(number__startswith=ORDER_PREFIX).values_list("number", flat=True)
    taken = [int(number[len(ORDER_PREFIX) :]) for number in numbers if number[len(ORDER_PREFIX) :].isdigit()]
    return max([FIRST_SEQUENCE - 1, *taken]) + 1


def creation_times(rng: random.Random, count: int, now: datetime) -> list[datetime]:
    """Spread over the last 60 days, with a busier last two days so that work is in progress."""
    latest = now - timedelta(minutes=20)
    times = [
        latest - timedelta(hours=rng.uniform(0, 48 if rng.random() < 0.15 else 24 * HISTORY_DAYS))
        for _index in range(count)
    ]
    return sorted(times)


class OrderSeeder:
    def __init__(self, rng: random.Random, network: Network, now: datetime) -> None:
        self.rng = rng
        self.network = network
        self.now = now
        self.tally = SeedTally()

    def order_seed(self, sequence: int, created_at: datetime) -> Order:
        rng, network = self.rng, self.network
        account = rng.choice(network.accounts)
        # A tiny catalogue (--parts) may have nothing for an industry: then any part will do.
        pool = network.parts_by_industry.get(network.industry[account.pk]) or [
            part for industry_parts in network.parts_by_industry.values() for part in industry_parts
        ]
        parts = rng.sample(pool, min(len(pool), rng.choices(range(1, 6), LINE_COUNT_WEIGHTS)[0]))
        priority = rng.choices(Priority.values, PRIORITY_BY_CRITICALITY[min(part.criticality for part in parts)])[0]
        ship_policy = rng.choices(list(SHIP_POLICY_WEIGHTS), list(SHIP_POLICY_WEIGHTS.values()))[0]
        assets = network.assets_by_account.get(account.pk, [])
        drafts = [
            self.line_draft(str(10 * index), part, priority, ship_policy, account.region.code, created_at)
            for index, part in enumerate(parts, start=1)
        ]
        etas = [draft.leaf.plan.eta for draft in drafts if draft.leaf.plan.eta]
        lead_days = {Priority.EMERGENCY: 0, Priority.URGENT: 1}.get(priority, rng.randint(3, 10))
        with transaction.atomic():
            order = Order.objects.create(
                number=f"{ORDER_PREFIX}{sequence}",
                account=account,
                asset=rng.choice(assets) if assets and rng.random() < 0.75 else None,
                region=account.region,
                priority=priority,
                ship_policy=ship_policy,
                customer_reference=self.customer_reference(account, priority),
                requested_date=(created_at + timedelta(days=lead_days)).date(),
                promised_date=max(etas).date() if etas else None,
                is_test=rng.random() < 0.03,
            )
            references = [ref for draft in drafts for ref in self.line_create(order, sequence, draft)]
            LineReference.objects.bulk_create(references)
            # The order happened in the past: date it back, and to the last message it received.
            arrivals = [
                fact.received_at for draft in drafts for leaf in (draft.leaf, draft.other) if leaf for fact in leaf.due
            ]
            Order.objects.filter(pk=order.pk).update(
                created_at=created_at, updated_at=max(arrivals, default=created_at)
            )
            OrderLine.objects.filter(order=order).update(created_at=created_at)
        self.tally.orders += 1
        return order

    def line_draft(
        self, number: str, part: Part, priority: str, ship_policy: str, region: str, created_at: datetime
    ) -> _Draft:
        rng = self.rng
        if part.category in BULK_CATEGORIES:
            quantity = rng.randint(2, 24)
        else:
            quantity = rng.choices([1, 2, 3, 4], [55, 25, 12, 8])[0]
        site = self.site_pick(region, priority)
        setting = LineSetting(
            priority=priority,
            criticality=part.criticality,
            ship_policy=ship_policy,
            site_name=site.name,
            warehouse=self.network.warehouse_system[site.pk],
            carrier=rng.choices(CARRIERS, CARRIER_WEIGHTS[region])[0],
            kitting=part.category in KITTING_CATEGORIES and rng.random() < 0.3,
        )
        release_at = created_at + timedelta(hours=rng.uniform(0.05, 2) * SPEED[priority])
        split_at = release_at + timedelta(hours=rng.uniform(0.2, 3))
        if quantity >= 2 and rng.random() < SPLIT_CHANCE and split_at < self.now - timedelta(hours=1):
            # ATP found only part of the quantity at the line's site; the rest comes from another one.
            other_site = self.site_pick(region, priority, besides=site)
            other_setting = replace(
                setting, site_name=other_site.name, warehouse=self.network.warehouse_system[other_site.pk]
            )
            own_plan = fulfilment_plan(rng, setting, start=split_at, released=True, backorder=False)
            other_plan = fulfilment_plan(
                rng, other_setting, start=split_at, released=True, backorder=rng.random() < 0.6
            )
            release = Fact(LineStatus.RELEASED, release_at, release_at + timedelta(seconds=40), ERP, message_id(rng))
            return _Draft(
                number,
                part,
                quantity,
                _Leaf(site, setting, own_plan, own_plan.due(rng, self.now)),
                release=release,
                other=_Leaf(other_site, other_setting, other_plan, other_plan.due(rng, self.now)),
                other_quantity=rng.randint(1, quantity - 1),
            )
        plan = fulfilment_plan(rng, setting, start=created_at)
        return _Draft(number, part, quantity, _Leaf(site, setting, plan, plan.due(rng, self.now)))

    def line_create(self, order: Order, sequence: int, draft: _Draft) -> list[LineReference]:
        leaf = draft.leaf
        line = OrderLine.objects.create(
            order=order,
            number=draft.number,
            part=draft.part,
            quantity=draft.quantity,
            site=leaf.site,
            eta=leaf.plan.eta,
        )
        self.tally.lines += 1
        posnr = f"{int(draft.number):06d}"
        references = [
            LineReference(line=line, kind=LineReference.Kind.SAP_SALES_ORDER_ITEM, value=f"{sequence}/{posnr}")
        ]
        if draft.other is None:
            self.tally.outcomes.update(facts_replay(line.pk, leaf.due))
            return references + self.leaf_finish(line, leaf, sequence, posnr)
        self.tally.outcomes.update(facts_replay(line.pk, [draft.release]))
        other_child, own_child = split_line(
            line_id=line.pk,
            parts=[SplitPart(quantity=draft.other_quantity, site=draft.other.site, eta=draft.other.plan.eta)],
            actor=Actor.system("seed_demo"),
            reason_text=f"Partial stock at {leaf.site.name}; {draft.other_quantity} from {draft.other.site.name}.",
            publish=False,
        )
        self.tally.splits += 1
        self.tally.lines += 2
        for child, child_leaf in ((other_child, draft.other), (own_child, leaf)):
            self.tally.outcomes.update(facts_replay(child.pk, child_leaf.due))
            references += self.leaf_finish(child, child_leaf, sequence, posnr)
        return references

    def leaf_finish(self, line: OrderLine, leaf: _Leaf, sequence: int, posnr: str) -> list[LineReference]:
        """Shipment data for a leaf that left its site, and the references other systems know it by."""
        rng, kinds = self.rng, LineReference.Kind
        statuses = {fact.status for fact in leaf.due}
        references = []
        if statuses - {LineStatus.RELEASED, LineStatus.AWAITING_PART, LineStatus.ON_HOLD, LineStatus.CANCELLED}:
            # An outbound delivery per order and site once stock is allocated; derived so it never repeats.
            delivery = 80000000 + (sequence - FIRST_SEQUENCE) * 16 + leaf.site.pk % 16
            references.append(LineReference(line=line, kind=kinds.SAP_DELIVERY_ITEM, value=f"{delivery}/{posnr}"))
        if leaf.shipped:
            carrier = leaf.setting.carrier
            OrderLine.objects.filter(pk=line.pk).update(
                carrier=carrier.scac, tracking_number=tracking_number(rng, carrier.name)
            )
            references.append(
                LineReference(line=line, kind=kinds.BILL_OF_LADING, value=f"{rng.randrange(10**16, 10**17)}")
            )
        if LineStatus.VERIFIED in statuses:
            references.append(
                LineReference(line=line, kind=kinds.FIELD_SERVICE_JOB, value=f"FSJ-{rng.randrange(10**6, 10**7)}")
            )
        return references

    def site_pick(self, region: str, priority: str, besides: Site | None = None) -> Site:
        candidates = [site for site in self.network.sites_by_region[region] if site != besides]
        if besides is not None and besides.kind == Site.Kind.DISTRIBUTION_CENTRE:
            # The region's DC is short too: the rest comes from a DC in another region.
            candidates = [
                site
                for sites in self.network.sites_by_region.values()
                for site in sites
                if site.kind == Site.Kind.DISTRIBUTION_CENTRE and site != besides
            ]
        weights = [SITE_KIND_WEIGHTS[priority][site.kind] for site in candidates]
        return self.rng.choices(candidates, weights)[0]

    def customer_reference(self, account: Account, priority: str) -> str:
        number = self.rng.randrange(100000, 999999)
        if account.kind == Account.Kind.DEALER:
            return f"DLR-{number}"
        if priority == Priority.EMERGENCY and self.network.industry[account.pk] == "aviation":
            return f"AOG-{number}"  # aircraft on ground
        return f"PO-{number}"


def message_id(rng: random.Random) -> str:
    """An IDoc-like message number."""
    return f"{rng.randrange(10**15, 10**16)}"


def tracking_number(rng: random.Random, carrier: str) -> str:
    if carrier == "UPS":
        shipper = "".join(rng.choices(string.ascii_uppercase + string.digits, k=6))
        return f"1Z{shipper}03{rng.randrange(10**7, 10**8)}"
    if carrier == "FedEx":
        return f"{rng.randrange(10**11, 10**12)}"
    return f"{rng.randrange(10**9, 10**10)}"
