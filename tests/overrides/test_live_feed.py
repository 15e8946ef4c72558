"""The back office's live feed: one websocket per page follows everything in the person's scope,
so a new stale alert, a discrepancy, a status change or a case someone takes reaches the queue and
the pages without a reload; nothing from outside the scope arrives, and each message names an
order by its public id only."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from config.asgi import application
from orders.services import apply_status_update
from orders.services.lines import line_edit_save
from overrides.consumers import BackOfficeChangesConsumer
from overrides.models import StaleStatusRule
from overrides.services.alerts import stale_alerts_scan
from overrides.services.discrepancies import discrepancy_open_for_contested_override, discrepancy_take
from tests.factories import OrderLineFactory, RegionFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _person(role: str, *regions, username: str = ""):
    user = UserFactory(username=username or role)
    user.groups.add(Group.objects.get(name=role))
    for region in regions:
        assign_perm("orders.work_in_region", user, region)
    return user


def _feed(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(BackOfficeChangesConsumer.as_asgi(), "/ws/backoffice/")
    communicator.scope["user"] = user
    return communicator


def _received(user, *changes) -> list[dict]:
    """Connect as `user`, make each change (plain functions touching the database), and return
    every message that arrived."""
    communicator = _feed(user)

    async def follow():
        connected, _code = await communicator.connect()
        assert connected
        for change in changes:
            await database_sync_to_async(change)()
        messages = []
        while not await communicator.receive_nothing(timeout=0.5):
            messages.append(await communicator.receive_json_from())
        await communicator.disconnect()
        return messages

    return async_to_sync(follow)()


def _allocated_long_ago(region, advance):
    line = OrderLineFactory(order__account__region=region)
    advance(line, "allocated")
    return line


def test_a_stale_alert_opened_in_my_region_reaches_my_page_and_one_elsewhere_does_not(advance):
    # given a planner of EMEA, and a line allocated for hours in EMEA and in APAC
    emea, apac = RegionFactory(code="emea"), RegionFactory(code="apac")
    StaleStatusRule.objects.create(status="allocated", threshold=timedelta(hours=2))
    mine = _allocated_long_ago(emea, advance)
    _allocated_long_ago(apac, advance)
    planner = _person("planner", emea)

    # when the scan opens the alerts while her queue is open
    messages = _received(planner, stale_alerts_scan)

    # then her page hears of the EMEA order's alert only, by its public id
    assert {"topic": "alert.opened", "order": str(mine.order.public_id)} in messages
    assert {message["order"] for message in messages} == {str(mine.order.public_id)}


def test_status_changes_discrepancies_and_cases_taken_reach_the_page(advance, sap, t0):
    # given a planner and a supervisor of EMEA, and a packed line there
    emea = RegionFactory(code="emea")
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "packed")
    planner = _person("planner", emea, username="planner")
    supervisor = _person("supervisor", emea, username="supervisor")
    order = str(line.order.public_id)

    def ship():
        apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0 + timedelta(hours=1), actor=sap)

    def open_case():
        return discrepancy_open_for_contested_override(
            line_id=line.pk, event_id=line.events.last().pk, held_status="packed"
        )

    def take_case():
        case = line.discrepancies.get()
        discrepancy_take(discrepancy_id=case.pk, user=supervisor)

    # when the line ships, a discrepancy opens on it and the supervisor takes it
    messages = _received(planner, ship, open_case, take_case)

    # then the planner's page hears of each
    topics = [message["topic"] for message in messages if message["order"] == order]
    assert {"line.status_changed", "discrepancy.opened", "case.changed"} <= set(topics)
    assert all(set(message) == {"topic", "order"} for message in messages)


def test_a_line_edited_in_the_admin_reaches_the_page(advance, t0):
    # given a planner of EMEA and a line there
    emea = RegionFactory(code="emea")
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "allocated")
    planner = _person("planner", emea)

    def edit_eta():
        line.refresh_from_db()
        line.eta = t0 + timedelta(days=3)
        line_edit_save(line=line, fields=["eta"])

    # when staff change its planned ETA in the admin
    messages = _received(planner, edit_eta)

    # then her page hears of it and fetches itself again
    assert {"topic": "line.edited", "order": str(line.order.public_id)} in messages


def test_a_line_moved_to_another_site_in_the_admin_reaches_the_people_of_the_site_it_left(advance):
    # given a line shipping from one site, and someone who works at that site only
    line = OrderLineFactory()
    advance(line, "allocated")
    left, other = line.site, SiteFactory()
    dispatcher = _person("planner")
    assign_perm("orders.work_at_site", dispatcher, left)

    def move_site():
        line.refresh_from_db()
        line.site = other
        line_edit_save(line=line, fields=["site"])

    # when staff move the line to another site in the admin
    messages = _received(dispatcher, move_site)

    # then the page of the site it left hears of it (and drops the order it no longer shows)
    assert {"topic": "line.edited", "order": str(line.order.public_id)} in messages


def test_someone_seeing_every_region_hears_of_every_order(advance):
    # given a supervisor granted every region, and an alert opening in some region
    StaleStatusRule.objects.create(status="allocated", threshold=timedelta(hours=2))
    line = _allocated_long_ago(RegionFactory(code="latam"), advance)
    everywhere = UserFactory(username="global")
    everywhere.groups.add(Group.objects.get(name="supervisor"))
    assign_perm("orders.work_in_region", everywhere)  # global grant

    # when the scan opens it
    messages = _received(everywhere, stale_alerts_scan)

    # then their page hears of it
    assert {"topic": "alert.opened", "order": str(line.order.public_id)} in messages


def test_someone_without_the_back_office_is_refused(db):
    # given a signed-in person with no role
    nobody = UserFactory(username="nobody")

    # when their page tries to follow the back office
    connected, code = async_to_sync(_feed(nobody).connect)()

    # then the feed refuses
    assert (connected, code) == (False, 4403)


def test_the_feed_is_mounted_in_the_asgi_application(db):
    # Through the real router: anonymous (no session cookie) is refused; the route exists.
    communicator = WebsocketCommunicator(application, "/ws/backoffice/", headers=[(b"origin", b"http://127.0.0.1")])

    connected, code = async_to_sync(communicator.connect)()

    assert (connected, code) == (False, 4403)


def test_the_queue_follows_the_feed_even_when_it_is_empty(client):
    # given a planner with nothing to work on
    client.force_login(_person("planner", RegionFactory(code="emea")))

    # when the queue is shown
    html = client.get("/backoffice/").content.decode()

    # then it follows every change in the planner's scope, to show the first case as it opens
    assert 'data-live-orders="*"' in html
    assert "js/live-page.js" in html
