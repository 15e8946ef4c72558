"""Models of the status core: reference data, orders and lines, vocabulary, events, outbox."""

from orders.models.contacts import ContactRole, OrderContact
from orders.models.events import ActorKind, AuditAnchor, EventKind, EventOutcome, EventSuppression, StatusEvent
from orders.models.order import Order, OrderLine, Priority, ShipPolicy
from orders.models.outbox import DeliveryState, OutboxDelivery, OutboxEvent
from orders.models.people import UserProfile
from orders.models.reference import Account, Asset, Criticality, Issuer, LineReference, Part, Region, Site
from orders.models.shipments import Shipment, ShipmentLine
from orders.models.vocabulary import StatusDefinition

__all__ = [
    "Account",
    "ActorKind",
    "Asset",
    "ContactRole",
    "AuditAnchor",
    "Criticality",
    "EventKind",
    "EventOutcome",
    "EventSuppression",
    "Issuer",
    "LineReference",
    "Order",
    "OrderContact",
    "OrderLine",
    "DeliveryState",
    "OutboxDelivery",
    "OutboxEvent",
    "Part",
    "Priority",
    "Region",
    "ShipPolicy",
    "Shipment",
    "ShipmentLine",
    "Site",
    "StatusDefinition",
    "StatusEvent",
    "UserProfile",
]
