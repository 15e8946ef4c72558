"""Websocket consumer: a signed-in person follows one order's changes live."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from orders.live import order_group_name
from orders.scoping import orders_visible_to


class OrderChangesConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        number = self.scope["url_route"]["kwargs"]["number"]
        order_id = await self._visible_order_id(user, number)
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
        await self.send_json({"topic": message["topic"], "id": message["outbox_id"], "change": message["change"]})

    @database_sync_to_async
    def _visible_order_id(self, user, number: str) -> int | None:
        if user is None or not user.is_authenticated or not user.has_perm("orders.view_order"):
            return None
        return orders_visible_to(user).filter(number=number).values_list("pk", flat=True).first()
