"""Websockets of the portal, the technician pages and status links: one order's changes, live.

Scope is checked on connect, for people (the portal's scoping selector, or the technician's
jobs) and for tokens (a usable link) alike; anything else is refused with 4404, as an unknown
order. A client resumes without gaps: it sends the last order sequence it saw (`?since=N`),
and when the order moved on meanwhile it gets the current state first, then changes.

Scope is checked again while the socket is open: a link revoked, rotated or edited, and a person
whose permissions, technician jobs, account or session changed, are told at once (portal.access
signals the socket, which checks again and closes with 4404 when it may no longer follow the
order); a link closes when it expires; and before a change is pushed, a check older than
RECHECK_SECONDS (spread) is made again (what no signal announces, e.g. a bulk update around the ORM)."""

import asyncio
import random
import time
from collections import OrderedDict
from importlib import import_module
from urllib.parse import parse_qs
from uuid import UUID

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare

from orders.models import Order, OrderLine
from orders.read_models import Audience, customer_labels, localize_change, order_view, view_changes, with_view_version
from orders.read_models.subset import line_family, view_apply, view_for_lines
from orders.scoping import orders_of_technician, orders_visible_to_customer
from portal.access import link_group_name, user_group_name
from portal.live import portal_group_name
from portal.live_times import with_time_texts
from portal.models import StatusLink
from portal.services.links import address_attempt_counted, status_link_find

REFUSED = 4404
# Pushes written for a push id, language and zone, newest last (see portal_changed).
_written: OrderedDict[tuple, str] = OrderedDict()
WRITTEN_KEPT = 512
# Signals announce every change of access known here; this re-check is the backstop. Spread per
# socket, so that a thousand sockets on one order do not all check on the same push.
RECHECK_SECONDS = 300


class OrderFollowConsumer(AsyncJsonWebsocketConsumer):
    """Common part: join the order's group for the audience, send the state when behind, then
    each change localized (labels and summary in the viewer's language)."""

    family: set[str] | None = None  # a line link: only these lines
    line_public_id: str | None = None  # ... split from this one
    closed = False
    view: dict | None = None  # a line link: the order's view as of the last change (narrowed on sending)

    async def connect(self) -> None:
        self.groups_joined: list[str] = []
        found = await self._order_and_audience()
        if found is None:
            await self.close(code=REFUSED)
            return
        order_id, self.audience, line_public_id = found
        self.following = found
        self.language = self._language()
        self.zone = self._query("tz")
        self.group = portal_group_name(order_id, self.audience)
        # Join before reading the state: a change committed in between is both in the state
        # and pushed, never in neither (the client drops what it has seen by sequence). The
        # access group first: a revocation committed meanwhile is then heard, or seen below.
        for group in [*self._access_groups(), self.group]:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        if not await self._still_allowed():
            await self._refuse()
            return
        # The backstop re-check spread per socket (sockets opened together check apart).
        self.checked_at -= random.uniform(0, RECHECK_SECONDS / 2)
        await self.accept()
        view, self.labels = await self._state(order_id)
        if line_public_id is not None:
            self.line_public_id = line_public_id
            self.family = line_family(view, line_public_id)
            self.view = view
            view = view_for_lines(view, self.family)
        since = self._since()
        if since is None or since != view["order"]["sequence"]:
            await self.send_json(
                self._times(localize_change({"sequence": view["order"]["sequence"], "state": view}, self.labels))
            )

    async def disconnect(self, code: int) -> None:
        self.closed = True
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def _refuse(self) -> None:
        """Stop following: leave the groups (nothing more is pushed) and close."""
        await self.disconnect(REFUSED)
        await self.close(code=REFUSED)

    async def access_changed(self, message: dict) -> None:
        """portal.access: the link or the person's access changed; check again."""
        if self.closed:
            return
        if self._session_ended(message.get("ended_session")) or not await self._still_allowed():
            await self._refuse()

    async def portal_changed(self, message: dict) -> None:
        if self.closed:
            return
        due = time.monotonic() - self.checked_at > RECHECK_SECONDS or self._expired()
        if due and not await self._still_allowed():
            await self._refuse()
            return
        change = message["change"]
        if self.family is not None:
            change = self._narrowed(change)
            if change is None:
                return
            with translation.override(self.language):
                await self.send_json(self._times(localize_change(change, self.labels)))
            return
        # Every socket of the group that reads in the same language and zone sends the same
        # words: written once per process (a thousand sockets on one order, a handful of texts).
        key = (message.get("push"), self.language, self.zone)
        text = _written.get(key) if key[0] else None
        if text is None:
            with translation.override(self.language):
                text = await self.encode_json(self._times(localize_change(change, self.labels)))
            _written[key] = text
            while len(_written) > WRITTEN_KEPT:
                _written.popitem(last=False)
        await self.send(text_data=text)

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

    def _times(self, change: dict) -> dict:
        return with_time_texts(change, language=self.language, zone=self.zone)

    def _query(self, name: str) -> str:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        return (query.get(name) or [""])[0]

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

    def _access_groups(self) -> list[str]:
        """Where portal.access tells this socket that its access changed."""
        raise NotImplementedError

    def _expired(self) -> bool:
        return False

    def _session_ended(self, ended: str | None) -> bool:
        session = self.scope.get("session")
        return bool(ended and session is not None and constant_time_compare(ended, session.session_key or ""))

    async def _still_allowed(self) -> bool:
        """Whether the socket may still follow what it follows (the same order, audience, line)."""
        self.checked_at = time.monotonic()
        return await self._order_and_audience() == self.following


def _header(view: dict) -> dict:
    return {key: value for key, value in view["order"].items() if key != "sequence"}


class PortalOrderConsumer(OrderFollowConsumer):
    """`ws/portal/orders/<public id>/`: a customer or dealer person, or a technician on their job."""

    async def _order_and_audience(self):
        return await self._visible(await self._user(), self.scope["url_route"]["kwargs"]["public_id"])

    def _access_groups(self) -> list[str]:
        return [user_group_name(self.scope["user"].pk)]

    @database_sync_to_async
    def _user(self):
        """The person as their session says now (signed out, password changed, deactivated:
        nobody), or the scope's user when there is no session (tests)."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        session = self.scope.get("session")
        if session is None or session.session_key is None:
            return get_user_model()._default_manager.filter(pk=user.pk, is_active=True).first()
        stored = import_module(settings.SESSION_ENGINE).SessionStore(session.session_key)
        backend_path = stored.get(BACKEND_SESSION_KEY)
        if backend_path not in settings.AUTHENTICATION_BACKENDS or str(stored.get(SESSION_KEY)) != str(user.pk):
            return None
        current = load_backend(backend_path).get_user(user.pk)
        if current is None or not constant_time_compare(
            stored.get(HASH_SESSION_KEY, ""), current.get_session_auth_hash()
        ):
            return None
        return current

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

    link_id: int | None = None
    expires_at = None
    expiry_timer: asyncio.TimerHandle | None = None

    async def connect(self) -> None:
        # A token named over a websocket counts against the address's limit like a page's.
        client = self.scope.get("client") or ("", 0)
        if await database_sync_to_async(address_attempt_counted)(client[0] or ""):
            await self.close(code=REFUSED)
            return
        await super().connect()
        if not self.closed and self.expires_at is not None:
            # Closed when it expires, even when nothing is pushed meanwhile.
            delay = max(0.0, (self.expires_at - timezone.now()).total_seconds())
            self.expiry_timer = asyncio.get_running_loop().call_later(
                delay, lambda: asyncio.ensure_future(self.access_changed({}))
            )

    async def disconnect(self, code: int) -> None:
        if self.expiry_timer is not None:
            self.expiry_timer.cancel()
            self.expiry_timer = None
        await super().disconnect(code)

    async def _order_and_audience(self):
        return await self._usable(self.scope["url_route"]["kwargs"]["token"])

    def _access_groups(self) -> list[str]:
        return [link_group_name(self.link_id)]

    def _expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @database_sync_to_async
    def _usable(self, token: str):
        if self.link_id is not None:  # checked again: the same link, as it is now
            link = StatusLink.objects.select_related("line").filter(pk=self.link_id).first()
        else:
            link = status_link_find(token)
        if link is None or not link.is_usable():
            return None
        self.link_id, self.expires_at = link.pk, link.expires_at
        return link.order_id, link.audience, (str(link.line.public_id) if link.line_id else None)
