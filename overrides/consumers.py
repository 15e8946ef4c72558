"""Websocket consumer of the back office: one per page, following the person's whole scope."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from overrides.live import scope_group_names


class BackOfficeChangesConsumer(AsyncJsonWebsocketConsumer):
    """`ws/backoffice/`: changes on the orders in the signed-in person's scope, each named by the
    order's public id and a topic. Anyone without the back office's reading right is refused
    (4403)."""

    async def connect(self) -> None:
        self.groups_joined = await self._groups(self.scope.get("user"))
        if not self.groups_joined:
            await self.close(code=4403)
            return
        for name in self.groups_joined:
            await self.channel_layer.group_add(name, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for name in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(name, self.channel_name)

    async def backoffice_changed(self, message: dict) -> None:
        await self.send_json({"topic": message["topic"], "order": message["order"]})

    @database_sync_to_async
    def _groups(self, user) -> list[str]:
        if user is None or not user.is_authenticated or not user.has_perm("orders.view_order"):
            return []
        return scope_group_names(user)
