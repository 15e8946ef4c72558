"""Websocket consumer: a signed-in person follows one order's changes live."""

from uuid import UUID

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from orders.live import order_group_name
from orders.scoping import orders_visible_to


class OrderChangesConsumer(AsyncJsonWebsocketConsumer):
    """`ws/orders/<public id>/`: the order is named by its public id, never by an integer id;
    an order out of the person's scope is refused like an unknown one (4404)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        order_id = await self._visible_order_id(user, public_id)
        if order_id is None:
            await self.close(code=4404)
            return
        self.group = order_group_name(order_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def order_changed(self, message: dict) -> None:
        await self.send_json({"topic": message["topic"], "sequence": message["sequence"], "change": message["change"]})

    @database_sync_to_async
    def _visible_order_id(self, user, public_id: UUID | str) -> int | None:
        if user is None or not user.is_authenticated or not user.has_perm("orders.view_order"):
            return None
        try:
            public_id = UUID(str(public_id))
        except ValueError:
            return None
        return orders_visible_to(user).filter(public_id=public_id).values_list("pk", flat=True).first()
