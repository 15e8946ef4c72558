"""Demo orders: header, lines, shipments and line references, with each line's history sent
through the core's batch path. A chunk of orders is one transaction; some lines are split
between their own site and another one."""

import random
import string
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from simple_history.utils import bulk_create_with_history

from orders.demo.contacts import demo_requester
from orders.demo.histories import (
    CARRIER_WEIGHTS,
    CARRIERS,
    ERP,
    FIELD_APP,
    SPEED,
    Fact,
    LineSetting,
    Plan,
    fulfilment_plan,
)
from orders.demo.network import Network
from orders.models import (
    Account,
    LineReference,
    Order,
    OrderContact,
    OrderLine,
    Part,
    Priority,
    ShipPolicy,
    Site,
)
from orders.services import Actor, Provenance, SplitPart, split_line
from orders.services.bulk import StatusFact, status_facts_apply
from orders.services.events import line_start_record
from orders.services.shipments import ShipmentData, shipment_record
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

    @property
    def first_shipped(self) -> Fact | None:
        """The goods issue: the first fact that says the part left (in arrival order)."""
        return next((fact for fact in self.due if fact.status in SHIPPED), None)


@dataclass
class _Draft:
    number: str
    part: Part
    quantity: int
    leaf: _Leaf
    # For a split line: the release before the split, when it happens, and the child at the other site.
    release: Fact | None = None
    split_at: datetime | None = None
    other: _Leaf | None = None
    other_quantity: int = 0
    # Set while seeding: the line, and for a split line its two children.
    line: OrderLine | None = None
    other_child: OrderLine | None = None
    own_child: OrderLine | None = None

    @property
    def leaves(self) -> list[_Leaf]:
        return [self.leaf] if self.other is None else [self.other, self.leaf]

    @property
    def children_with_leaves(self) -> list[tuple[OrderLine, _Leaf]]:
        return [(self.other_child, self.other), (self.own_child, self.leaf)]

    @property
    def leaves_with_lines(self) -> list[tuple[OrderLine, _Leaf]]:
        return [(self.line, self.leaf)] if self.other is None else self.children_with_leaves


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


@dataclass
class _OrderDraft:
    sequence: int
    created_at: datetime
    order: Order
    drafts: list[_Draft]

    @property
    def last_arrival(self) -> datetime:
        arrivals = [fact.received_at for draft in self.drafts for leaf in draft.leaves for fact in leaf.due]
        return max(arrivals, default=self.created_at)


class OrderSeeder:
    """Seeds orders a chunk at a time with bulk writes: the orders and lines in one insert each
    (with their history rows), every line's facts through the core's batch path
    (orders.services.bulk.status_facts_apply: the same decision as one fact at a time), the
    few splits through split_line, then the children's facts, shipments and references."""

    def __init__(self, rng: random.Random, network: Network, now: datetime) -> None:
        self.rng = rng
        self.network = network
        self.now = now
        self.tally = SeedTally()
        self.shipping: dict[int, ShipmentData] = {}  # id of a leaf → its shipment

    def orders_seed(self, items: list[tuple[int, datetime]]) -> list[Order]:
        """Seed one order per (sequence, creation time), in one transaction."""
        planned = [self.order_plan(sequence, created_at) for sequence, created_at in items]
        with transaction.atomic():
            for plan in planned:
                plan.order._history_date = plan.created_at
            orders = bulk_create_with_history([plan.order for plan in planned], Order)
            lines = []
            for plan, order in zip(planned, orders, strict=True):
                plan.order = order
                for draft in plan.drafts:
                    # As an order upsert creates it: started at the ERP's creation time.
                    draft.line = OrderLine(
                        order=order,
                        number=draft.number,
                        part=draft.part,
                        quantity=draft.quantity,
                        site=draft.leaf.site,
                        eta=draft.leaf.plan.eta,
                        start_occurred_at=plan.created_at,
                        status_occurred_at=plan.created_at,
                        status_changed_at=plan.created_at,
                    )
                    draft.line._history_date = plan.created_at
                    lines.append(draft.line)
            bulk_create_with_history(lines, OrderLine)
            # Someone to tell: each order's requester (the account's buyer, in its language).
            OrderContact.objects.bulk_create([demo_requester(plan.order.account, plan.order) for plan in planned])
            for line in lines:
                line_start_record(
                    line=line,
                    occurred_at=line.start_occurred_at,
                    actor=Actor.integration(ERP),
                    provenance=Provenance(source_system=ERP),
                )
            self.tally.orders += len(planned)
            self.tally.lines += len(lines)
            drafts = [draft for plan in planned for draft in plan.drafts]
            self.shipments_plan(planned)
            self.facts_send(
                [
                    (draft.line, draft.leaf.due, draft.leaf)
                    if draft.other is None
                    else (draft.line, [draft.release], None)
                    for draft in drafts
                ]
            )
            split = [draft for draft in drafts if draft.other is not None]
            before = history_last()
            for draft in split:
                draft.other_child, draft.own_child = split_line(
                    line_id=draft.line.pk,
                    parts=[SplitPart(quantity=draft.other_quantity, site=draft.other.site, eta=draft.other.plan.eta)],
                    actor=Actor.system("seed_demo"),
                    reason_text=(
                        f"Partial stock at {draft.leaf.site.name}; {draft.other_quantity} from {draft.other.site.name}."
                    ),
                    occurred_at=draft.split_at,
                    publish=False,
                )
            history_backdate(
                after=before,
                dates={
                    line.pk: draft.split_at
                    for draft in split
                    for line in (draft.line, draft.other_child, draft.own_child)
                },
            )
            self.tally.splits += len(split)
            self.tally.lines += 2 * len(split)
            self.facts_send([(child, leaf.due, leaf) for draft in split for child, leaf in draft.children_with_leaves])
            self.leaves_finish(planned)
            # The orders happened in the past: date them back, and to the last message they received.
            for plan in planned:
                plan.order.created_at = plan.created_at
                plan.order.updated_at = plan.last_arrival
            Order.objects.bulk_update([plan.order for plan in planned], ["created_at", "updated_at"])
            created = {plan.order.pk: plan.created_at for plan in planned}
            dated = list(OrderLine.objects.filter(order_id__in=created).only("pk", "order_id"))
            for line in dated:
                line.created_at = created[line.order_id]
            OrderLine.objects.bulk_update(dated, ["created_at"])
        return [plan.order for plan in planned]

    def facts_send(self, lines_and_facts: list[tuple[OrderLine, list[Fact], _Leaf | None]]) -> None:
        """Every line's facts in their arrival order, as their sources would send them: one batch
        per round, the first fact of every line, then the second, ... A batch writes one history
        row per line it changes, so each change of a line gets its own, dated when it arrived. A
        leaf's goods issue is recorded as the warehouse records it, with its first shipped fact."""
        rounds = max((len(due) for _line, due, _leaf in lines_and_facts), default=0)
        for index in range(rounds):
            batch = [(line, due[index], leaf) for line, due, leaf in lines_and_facts if index < len(due)]
            before = history_last()
            facts = [
                StatusFact(
                    line_id=line.pk,
                    status=fact.status,
                    occurred_at=fact.occurred_at,
                    actor=Actor.integration(fact.source),
                    provenance=Provenance(
                        source_system=fact.source, reason_code=fact.reason_code, reason_text=fact.reason_text
                    ),
                    fact_id=fact.fact_id,
                    received_at=fact.received_at,
                )
                for line, fact, _leaf in batch
            ]
            for result in status_facts_apply(facts=facts, publish=False):
                self.tally.outcomes[result.outcome] += 1
            for line, fact, leaf in batch:
                if leaf is not None and leaf.shipped and fact is leaf.first_shipped:
                    shipment_record(
                        line_id=line.pk,
                        quantity=line.quantity,
                        data=self.shipping[id(leaf)],
                        source_system=leaf.setting.warehouse,
                        occurred_at=fact.occurred_at,
                    )
            arrived = {line.parent_id: fact.received_at for line, fact, _leaf in batch if line.parent_id}  # rollups
            arrived.update({line.pk: fact.received_at for line, fact, _leaf in batch})
            history_backdate(after=before, dates=arrived)

    def order_plan(self, sequence: int, created_at: datetime) -> _OrderDraft:
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
        requested_date = (created_at + timedelta(days=lead_days)).date()
        order = Order(
            number=f"{ORDER_PREFIX}{sequence}",
            account=account,
            asset=rng.choice(assets) if assets and rng.random() < 0.75 else None,
            region=account.region,
            priority=priority,
            ship_policy=ship_policy,
            customer_reference=self.customer_reference(account, priority),
            requested_date=requested_date,
            # Promised by the ETA, never before the day the customer asked for.
            promised_date=max(max(etas).date(), requested_date) if etas else None,
            is_test=rng.random() < 0.03,
        )
        return _OrderDraft(sequence=sequence, created_at=created_at, order=order, drafts=drafts)

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
                split_at=split_at,
                other=_Leaf(other_site, other_setting, other_plan, other_plan.due(rng, self.now)),
                other_quantity=rng.randint(1, quantity - 1),
            )
        plan = fulfilment_plan(rng, setting, start=created_at)
        return _Draft(number, part, quantity, _Leaf(site, setting, plan, plan.due(rng, self.now)))

    def shipments_plan(self, planned: list[_OrderDraft]) -> None:
        """The shipment of each leaf that will leave its site: one per order, site and carrier (the
        warehouse ships them together), recorded when the leaf's goods issue arrives."""
        rng = self.rng
        for plan in planned:
            groups: dict[tuple[int, str], list[_Leaf]] = {}
            for draft in plan.drafts:
                for leaf in draft.leaves:
                    if leaf.shipped:
                        groups.setdefault((leaf.site.pk, leaf.setting.carrier.scac), []).append(leaf)
            for leaves in groups.values():
                carrier = leaves[0].setting.carrier
                data = ShipmentData(
                    carrier=carrier.scac,
                    tracking_number=tracking_number(rng, carrier.name),
                    bill_of_lading=f"{rng.randrange(10**16, 10**17)}",
                    ship_from=leaves[0].site.code,
                    eta=max((leaf.plan.eta for leaf in leaves if leaf.plan.eta), default=None),
                    packages=len(leaves),
                )
                self.shipping.update({id(leaf): data for leaf in leaves})

    def leaves_finish(self, planned: list[_OrderDraft]) -> None:
        """What other systems know each line by (the shipments' numbers came with them)."""
        kinds = LineReference.Kind
        references = []
        for plan in planned:
            sequence = plan.sequence
            for draft in plan.drafts:
                posnr = f"{int(draft.number):06d}"
                references.append(
                    LineReference(
                        line=draft.line, issuer=ERP, kind=kinds.SAP_SALES_ORDER_ITEM, value=f"{sequence}/{posnr}"
                    )
                )
                for line, leaf in draft.leaves_with_lines:
                    references += self.leaf_references(line, leaf, sequence, posnr)
        LineReference.objects.bulk_create(references)

    def leaf_references(self, line: OrderLine, leaf: _Leaf, sequence: int, posnr: str) -> list[LineReference]:
        kinds = LineReference.Kind
        statuses = {fact.status for fact in leaf.due}
        references = []
        if statuses - {LineStatus.RELEASED, LineStatus.AWAITING_PART, LineStatus.ON_HOLD, LineStatus.CANCELLED}:
            # An outbound delivery per order and site once stock is allocated; derived so it never repeats.
            delivery = 80000000 + (sequence - FIRST_SEQUENCE) * 16 + leaf.site.pk % 16
            references.append(
                LineReference(line=line, issuer=ERP, kind=kinds.SAP_DELIVERY_ITEM, value=f"{delivery}/{posnr}")
            )
        if LineStatus.VERIFIED in statuses:
            references.append(
                LineReference(
                    line=line,
                    issuer=FIELD_APP,
                    kind=kinds.FIELD_SERVICE_JOB,
                    value=f"FSJ-{self.rng.randrange(10**6, 10**7)}",
                )
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


def history_last() -> int:
    return OrderLine.history.model.objects.aggregate(last=Max("history_id"))["last"] or 0


def history_backdate(*, after: int, dates: dict[int, datetime]) -> None:
    """Date the lines' history rows written since `after` to when the change happened (the seed
    writes the past now; production writes each change as it arrives)."""
    history = OrderLine.history.model
    rows = list(history.objects.filter(history_id__gt=after, id__in=dates).only("history_id", "id", "history_date"))
    for row in rows:
        row.history_date = dates[row.id]
    history.objects.bulk_update(rows, ["history_date"], batch_size=500)


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
