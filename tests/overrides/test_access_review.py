"""Access reviews: who holds a sensitive power and how, its last use, certify or revoke each
grant (direct, group, object permission, superuser), the CSV export and who may see it."""

import csv
import io
from datetime import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import translation
from guardian.shortcuts import assign_perm

from orders.services import Actor, line_status_override
from overrides.models import AccessReview, AccessReviewItem
from overrides.services.access import access_grants, access_review_decide, access_review_start
from tests.factories import RegionFactory, UserFactory

pytestmark = pytest.mark.django_db

OVERRIDE = "orders.override_line_status"
CERTIFIED = AccessReviewItem.Decision.CERTIFIED
REVOKED = AccessReviewItem.Decision.REVOKED


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Nobody here logs in with a password (force_login): hash the factory's quickly."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def auditor(db):
    user = UserFactory(username="auditor")
    user.groups.add(Group.objects.get(name="auditor"))
    return user


@pytest.fixture
def holders(db, line):
    """One person per way of holding the override power, and a superuser."""
    direct = UserFactory(username="direct")
    direct.user_permissions.add(Permission.objects.get(codename="override_line_status"))
    in_group = UserFactory(username="in-group")
    in_group.groups.add(Group.objects.get(name="supervisor"))
    assign_perm("orders.work_in_region", in_group, line.order.region)  # scope: one region
    on_line = UserFactory(username="on-line")
    assign_perm(OVERRIDE, on_line, line)
    lead = UserFactory(username="depot-lead")
    depot_leads = Group.objects.create(name="depot leads")
    assign_perm(OVERRIDE, depot_leads, line)
    lead.groups.add(depot_leads)
    root = UserFactory(username="root", is_superuser=True)
    UserFactory(username="root-2", is_superuser=True)
    return {"direct": direct, "in_group": in_group, "on_line": on_line, "lead": lead, "root": root}


def _grants() -> set[tuple[str, str, str, str]]:
    return {(grant.user.username, grant.power, grant.via, grant.scope) for grant in access_grants()}


def _item(review, username: str, power: str = OVERRIDE) -> AccessReviewItem:
    return review.items.get(user__username=username, power=power)


def _fresh(user):
    """The user as the next request sees them (no cached permissions)."""
    return get_user_model().objects.get(pk=user.pk)


def test_every_way_of_holding_a_power_is_listed_with_how(holders, line):
    grants = _grants()

    # a power held directly or through a group acts on the person's scope, which is named
    assert ("direct", OVERRIDE, "direct", "no orders (no region, site or account granted)") in grants
    region = f"region {line.order.region}"
    assert ("in-group", OVERRIDE, "group supervisor", region) in grants
    assert ("in-group", "overrides.approve_overriderequest", "group supervisor", region) in grants
    assert ("on-line", OVERRIDE, f"object orders.orderline:{line.pk}", f"order line {line}") in grants
    assert ("depot-lead", OVERRIDE, "group depot leads", f"order line {line}") in grants
    assert {(power, via) for username, power, via, _scope in grants if username == "root"} == {
        (OVERRIDE, "superuser"),
        ("overrides.approve_overriderequest", "superuser"),
        ("orders.suppress_statusevent", "superuser"),
        ("overrides.apply_reconciliationrun", "superuser"),
    }


def test_people_without_a_sensitive_power_are_not_listed(holders, auditor):
    usernames = {username for username, *_rest in _grants()}

    assert "auditor" not in usernames


def test_last_use_is_the_time_of_the_latest_override(holders, line, advance):
    # given the person with the direct grant overrides a line
    advance(line, "shipped")
    result = line_status_override(
        line_id=line.pk,
        status="packed",
        actor=Actor.person(holders["direct"]),
        reason_code="wrong_goods_issue",
        reason_text="Goods issue on the wrong delivery.",
    )

    # then their grant shows it as the last use; nobody else has used it
    last_uses = {(grant.user.username, grant.power): grant.last_used_at for grant in access_grants()}
    assert last_uses[("direct", OVERRIDE)] == result.event.received_at
    assert last_uses[("in-group", OVERRIDE)] is None


def test_a_review_snapshots_the_grants(holders, auditor):
    review = access_review_start(user=auditor)

    assert review.reviewer == auditor
    assert review.items.count() == len(access_grants())
    assert set(review.items.values_list("decision", flat=True)) == {AccessReviewItem.Decision.PENDING}


def test_revoking_a_direct_grant_removes_the_permission(holders, auditor):
    review = access_review_start(user=auditor)

    item = access_review_decide(item_id=_item(review, "direct").pk, user=auditor, decision=REVOKED)

    assert (item.decision, item.decided_at is not None) == (REVOKED, True)
    assert not _fresh(holders["direct"]).has_perm(OVERRIDE)


def test_revoking_a_group_grant_takes_the_person_out_of_the_group(holders, auditor):
    review = access_review_start(user=auditor)

    access_review_decide(item_id=_item(review, "in-group").pk, user=auditor, decision=REVOKED)

    user = _fresh(holders["in_group"])
    assert not user.groups.filter(name="supervisor").exists()
    assert not user.has_perm(OVERRIDE)
    # every power held through that membership is revoked with it
    assert set(review.items.filter(user=user).values_list("decision", flat=True)) == {REVOKED}


def test_revoking_an_object_grant_removes_the_object_permission(holders, auditor, line):
    review = access_review_start(user=auditor)
    assert _fresh(holders["on_line"]).has_perm(OVERRIDE, line)

    access_review_decide(item_id=_item(review, "on-line").pk, user=auditor, decision=REVOKED)

    assert not _fresh(holders["on_line"]).has_perm(OVERRIDE, line)


def test_revoking_an_object_grant_through_a_group_takes_the_person_out_of_the_group(holders, auditor, line):
    review = access_review_start(user=auditor)

    access_review_decide(item_id=_item(review, "depot-lead").pk, user=auditor, decision=REVOKED)

    assert not _fresh(holders["lead"]).has_perm(OVERRIDE, line)
    assert Group.objects.get(name="depot leads").user_set.count() == 0


def test_revoking_a_superuser_grant_ends_superuser_status(holders, auditor):
    review = access_review_start(user=auditor)

    access_review_decide(item_id=_item(review, "root").pk, user=auditor, decision=REVOKED)

    root = _fresh(holders["root"])
    assert not root.is_superuser
    assert not root.has_perm(OVERRIDE)
    assert set(review.items.filter(user=root).values_list("decision", flat=True)) == {REVOKED}


def test_certifying_keeps_the_grant(holders, auditor):
    review = access_review_start(user=auditor)

    item = access_review_decide(item_id=_item(review, "direct").pk, user=auditor, decision=CERTIFIED)

    assert item.decision == CERTIFIED
    assert item.decided_at is not None
    assert _fresh(holders["direct"]).has_perm(OVERRIDE)


def test_the_review_is_complete_when_every_grant_is_decided(holders, auditor):
    review = access_review_start(user=auditor)

    for item in review.items.order_by("pk"):
        item.refresh_from_db()
        if item.decision == AccessReviewItem.Decision.PENDING:
            access_review_decide(item_id=item.pk, user=auditor, decision=CERTIFIED)

    review.refresh_from_db()
    assert review.completed_at is not None


def test_a_reviewer_cannot_decide_their_own_grant(holders, auditor):
    # given an auditor who also holds the override power
    auditor.user_permissions.add(Permission.objects.get(codename="override_line_status"))
    review = access_review_start(user=auditor)

    # when they certify their own grant, they are refused
    with pytest.raises(PermissionDenied):
        access_review_decide(item_id=_item(review, "auditor").pk, user=auditor, decision=CERTIFIED)

    assert _item(review, "auditor").decision == AccessReviewItem.Decision.PENDING


def test_the_csv_export_has_one_row_per_grant(client, holders, auditor):
    review = access_review_start(user=auditor)
    access_review_decide(item_id=_item(review, "direct").pk, user=auditor, decision=REVOKED)
    client.force_login(auditor)

    response = client.get(reverse("backoffice:access_review_csv", args=[review.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == ["user", "power", "via", "scope", "last_used_at", "decision", "decided_at"]
    assert len(rows) == review.items.count()
    direct = next(row for row in rows if row["user"] == "direct")
    assert (direct["power"], direct["via"], direct["decision"]) == (OVERRIDE, "direct", "revoked")
    assert direct["decided_at"]


def test_the_pages_show_the_grants_and_take_decisions(client, holders, auditor):
    # given an auditor on the access page
    client.force_login(auditor)
    report = client.get(reverse("backoffice:access_reviews"))
    assert report.status_code == 200
    assert "depot-lead" in report.content.decode()

    # when they start a review and revoke the direct grant
    response = client.post(reverse("backoffice:access_review_start"))
    review = AccessReview.objects.get()
    assert response.url == reverse("backoffice:access_review", args=[review.pk])
    detail = client.get(response.url).content.decode()
    assert "Revoke" in detail

    item = _item(review, "direct")
    decide = reverse("backoffice:access_review_decide", args=[review.pk, item.pk])
    asked = client.post(decide, {"decision": "revoked"})

    # then they are first asked to confirm, and nothing is revoked yet
    assert asked.status_code == 200
    assert "right to override line statuses" in asked.content.decode()
    assert _fresh(holders["direct"]).has_perm(OVERRIDE)

    # when they confirm, then the permission is gone
    client.post(decide, {"decision": "revoked", "confirmed": "1"})
    assert not _fresh(holders["direct"]).has_perm(OVERRIDE)


def test_revoking_a_group_grant_says_it_removes_the_person_from_the_group(client, holders, auditor):
    # given a review with a grant held through the supervisor group
    client.force_login(auditor)
    review = access_review_start(user=auditor)
    item = review.items.filter(via__startswith="group ").select_related("user").first()

    # when the auditor asks to revoke it
    asked = client.post(reverse("backoffice:access_review_decide", args=[review.pk, item.pk]), {"decision": "revoked"})

    # then the confirmation says the person leaves the group, with every right it gives
    page = asked.content.decode().replace("&#x27;", "'")
    group = item.via.removeprefix("group ")
    assert f"removes {item.user.get_username()} from the group “{group}”" in page
    assert "every right the group gives" in page
    item.refresh_from_db()
    assert item.decision == "pending"


def test_a_planner_may_not_see_access_reviews(client, holders, auditor):
    review = access_review_start(user=auditor)
    planner = UserFactory(username="planner")
    planner.groups.add(Group.objects.get(name="planner"))
    client.force_login(planner)

    assert client.get(reverse("backoffice:access_reviews")).status_code == 403
    assert client.get(reverse("backoffice:access_review", args=[review.pk])).status_code == 403
    assert client.get(reverse("backoffice:access_review_csv", args=[review.pk])).status_code == 403


def test_a_review_started_in_german_names_its_scopes_in_each_readers_language(holders, auditor, line):
    # given a review started by an auditor reading German
    with translation.override("de"):
        review = access_review_start(user=auditor)

    # when the grants are read in English, and in German
    item = _item(review, "in-group")
    with translation.override("en"):
        english = item.scope_text
    with translation.override("de"):
        german = item.scope_text

    # then each reader reads the scope in their own language, the region by its name
    assert english == f"region {line.order.region}"
    assert german == f"Region {line.order.region}"


def test_a_scope_on_a_deleted_region_is_named_by_its_id_in_the_readers_language(holders, auditor):
    # given a person granted a region that was deleted before the review started
    region = RegionFactory(code="gone", name="Gone")
    assign_perm("orders.work_in_region", holders["direct"], region)
    region_pk = region.pk
    region.delete()

    # when a review starts and a German reader reads it
    review = access_review_start(user=auditor)
    with translation.override("de"):
        text = _item(review, "direct").scope_text

    # then the deleted region is named by its id and said to be deleted, in German
    assert text == f"Region #{region_pk} (gelöscht)"


def test_many_scopes_are_kept_whole(holders, auditor, line):
    # given a person working in 30 regions with long names
    for number in range(30):
        region = RegionFactory(code=f"r{number}", name=f"Region number {number} of a very large network")
        assign_perm("orders.work_in_region", holders["direct"], region)

    # when a review starts
    review = access_review_start(user=auditor)

    # then every region is named, none cut off
    text = _item(review, "direct").scope_text
    assert all(f"Region number {number} of a very large network" in text for number in range(30))


def test_the_csv_export_writes_times_in_the_readers_zone_with_the_offset(client, holders, auditor):
    review = access_review_start(user=auditor)
    access_review_decide(item_id=_item(review, "direct").pk, user=auditor, decision=REVOKED)
    client.force_login(auditor)
    client.cookies["tz"] = "America%2FNew_York"

    rows = list(csv.DictReader(io.StringIO(client.get(f"/backoffice/access-reviews/{review.pk}.csv").content.decode())))

    decided = next(row for row in rows if row["user"] == "direct")["decided_at"]
    assert decided.endswith("-05:00")  # New York in December, not UTC
    assert datetime.fromisoformat(decided) == _item(review, "direct").decided_at.replace(microsecond=0)
