"""Websockets of the portal, the technician pages and status links: one order's changes, live.

Scope is checked on connect, for people (the portal's scoping selector, or the technician's
jobs) and for tokens (a usable link) alike; anything else is refused with 4404, as an unknown
order. A client resumes without gaps: it sends the last order sequence it saw (`?since=N`),
and when the order moved on meanwhile it gets the current state first, then changes."""

from urllib.parse import parse_qs
from uuid import UUID

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation

from orders.models import Order, OrderLine
from orders.read_models import Audience, customer_labels, localize_change, order_view, view_changes, with_view_version
from orders.read_models.subset import line_family, view_apply, view_for_lines
from orders.scoping import orders_of_technician, orders_visible_to_customer
from portal.live import portal_group_name
from portal.services.links import status_link_find

REFUSED = 4404


class OrderFollowConsumer(AsyncJsonWebsocketConsumer):
    """Common part: join the order's group for the audience, send the state when behind, then
    each change localized (labels and summary in the viewer's language)."""

    family: set[str] | None = None  # a line link: only these lines
    view: dict | None = None  # a line link: the order's view as of the last change (narrowed on sending)

    async def connect(self) -> None:
        found = await self._order_and_audience()
        if found is None:
            await self.close(code=REFUSED)
            return
        order_id, self.audience, line_public_id = found
        self.language = self._language()
        self.group = portal_group_name(order_id, self.audience)
        # Join before reading the state: a change committed in between is both in the state
        # and pushed, never in neither (the client drops what it has seen by sequence).
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        view, self.labels = await self._state(order_id)
        if line_public_id is not None:
            self.family = line_family(view, line_public_id)
            self.view = view
            view = view_for_lines(view, self.family)
        since = self._since()
        if since is None or since != view["order"]["sequence"]:
            await self.send_json(localize_change({"sequence": view["order"]["sequence"], "state": view}, self.labels))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def portal_changed(self, message: dict) -> None:
        change = message["change"]
        if self.family is not None:
            change = self._narrowed(change)
            if change is None:
                return
        with translation.override(self.language):
            await self.send_json(localize_change(change, self.labels))

    def _narrowed(self, change: dict) -> dict | None:
        """A line link's part of a change: what changed in its lines, and the header and summary
        computed from them (None: nothing it shows changed, or the change is older than its state)."""
        if change["sequence"] < self.view["order"]["sequence"]:
            return None
        before = view_for_lines(self.view, self.family)
        self.view = view_apply(self.view, change)
        for line in self.view["lines"]:  # lines split from the family meanwhile join it
            if line["parent"] in self.family:
                self.family.add(line["public_id"])
        after = view_for_lines(self.view, self.family)
        narrowed = view_changes(before, after)
        narrowed.pop("order", None)
        if set(narrowed) == {"sequence"} and _header(before) == _header(after):
            return None
        narrowed["order"] = after["order"]
        return narrowed

    async def receive_json(self, content, **kwargs) -> None:
        """Clients only listen."""

    def _since(self) -> int | None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            return int(query["since"][0])
        except (KeyError, ValueError, IndexError):
            return None

    def _language(self) -> str:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        requested = (query.get("lang") or [""])[0]
        return requested if requested in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE

    @database_sync_to_async
    def _state(self, order_id: int) -> tuple[dict, dict]:
        order = with_view_version(Order.objects.filter(pk=order_id)).get()
        with translation.override(self.language):
            return order_view(order, audience=self.audience), customer_labels(self.language)

    async def _order_and_audience(self) -> tuple[int, str, str | None] | None:
        raise NotImplementedError


def _header(view: dict) -> dict:
    return {key: value for key, value in view["order"].items() if key != "sequence"}


class PortalOrderConsumer(OrderFollowConsumer):
    """`ws/portal/orders/<public id>/`: a customer or dealer person, or a technician on their job."""

    async def _order_and_audience(self):
        return await self._visible(self.scope.get("user"), self.scope["url_route"]["kwargs"]["public_id"])

    @database_sync_to_async
    def _visible(self, user, public_id):
        if user is None or not user.is_authenticated:
            return None
        try:
            public_id = UUID(str(public_id))
        except ValueError:
            return None
        order_id = orders_visible_to_customer(user).filter(public_id=public_id).values_list("pk", flat=True).first()
        if order_id is not None:
            return order_id, Audience.CUSTOMER, None
        order_id = orders_of_technician(user).filter(public_id=public_id).values_list("pk", flat=True).first()
        if order_id is not None:
            return order_id, Audience.TECHNICIAN, self._line_of(order_id)
        return None

    def _line_of(self, order_id: int) -> str | None:
        """A technician's part page follows its line only (`?line=<public id>`)."""
        requested = (parse_qs(self.scope.get("query_string", b"").decode()).get("line") or [""])[0]
        try:
            requested = UUID(requested)
        except ValueError:
            return None
        found = OrderLine.objects.filter(order_id=order_id, public_id=requested).values_list("public_id", flat=True)
        return str(found[0]) if found else None


class StatusLinkConsumer(OrderFollowConsumer):
    """`ws/s/<token>/`: whoever holds a usable status link (not expired, not revoked)."""

    async def _order_and_audience(self):
        return await self._usable(self.scope["url_route"]["kwargs"]["token"])

    @database_sync_to_async
    def _usable(self, token: str):
        link = status_link_find(token)
        if link is None or not link.is_usable():
            return None
        return link.order_id, link.audience, (str(link.line.public_id) if link.line_id else None)
