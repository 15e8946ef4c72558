"""Status links: random tokens stored only as a hash, expiry, revoke and rotate, every open
logged, rate limits per token and per address, fresh links asked for, tokens kept out of logs."""

import hashlib
import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from orders.models import OutboxEvent
from portal.logs import TokenRedactingFilter
from portal.models import LinkAudience, LinkRenewalRequest, PortalProfile, StatusLink, StatusLinkOpen
from portal.services.links import RENEWAL_TOPIC, status_link_issue, status_link_rotate

pytestmark = pytest.mark.django_db


def _token(issued) -> str:
    return issued.path.split("/")[2]


def test_a_token_has_at_least_128_random_bits_and_only_its_hash_is_stored(order):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    token = _token(issued)

    assert len(token) * 6 >= 128
    assert issued.link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {StatusLink._meta.db_table}")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert token not in stored


def test_links_expire_after_14_days_unless_the_account_says_otherwise(order, customer_account):
    default = status_link_issue(order=order, audience=LinkAudience.CUSTOMER).link
    PortalProfile.objects.create(account=customer_account.dealer, brand_name="Hansa", status_link_days=3)
    dealer_days = status_link_issue(order=order, audience=LinkAudience.CUSTOMER).link

    assert default.expires_at - default.issued_at == pytest.approx(timedelta(days=14), abs=timedelta(seconds=5))
    assert dealer_days.expires_at - dealer_days.issued_at == pytest.approx(timedelta(days=3), abs=timedelta(seconds=5))


def test_rotating_revokes_the_old_token_and_the_new_one_works(order, showcase):
    old = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    new = status_link_rotate(link=old.link)

    assert Client().get(old.path).status_code == 410
    assert Client().get(new.path).status_code == 200
    old.link.refresh_from_db()
    assert old.link.replaced_by == new.link


def test_every_open_is_logged_with_the_network_not_the_address(order, showcase):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    Client(REMOTE_ADDR="203.0.113.77", HTTP_USER_AGENT="Mozilla/5.0 (Android)").get(issued.path)

    (opened,) = StatusLinkOpen.objects.filter(link=issued.link)
    assert (opened.outcome, opened.ip_prefix, opened.user_agent) == ("shown", "203.0.113.0/24", "Mozilla/5.0 (Android)")
    issued.link.refresh_from_db()
    assert issued.link.last_opened_at is not None


def test_the_time_zone_reload_of_a_first_visit_is_one_opening(order, showcase, settings):
    settings.STATUS_LINK_OPENS_PER_MINUTE = 2
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    phone = Client(REMOTE_ADDR="203.0.113.77", HTTP_USER_AGENT="Mozilla/5.0 (Android)")

    # the first visit, then the reload time-zone.js makes (it sets the zone and the reload cookie)
    phone.get(issued.path)
    phone.cookies["tz"] = "Europe/Berlin"
    phone.cookies["tz-reload"] = "1"
    reloaded = phone.get(issued.path)

    assert reloaded.status_code == 200
    assert StatusLinkOpen.objects.filter(link=issued.link).count() == 1
    assert reloaded.cookies["tz-reload"].value == ""  # spent: a later reload is an opening again
    # and the reload did not use up the link's limit: two more people open it
    other = [Client(REMOTE_ADDR=f"198.51.100.{n}").get(issued.path).status_code for n in range(2)]
    assert other == [200, 429]


def test_a_reload_cookie_without_a_recent_opening_is_logged(order, showcase):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    client = Client(REMOTE_ADDR="203.0.113.77")
    client.cookies["tz-reload"] = "1"

    client.get(issued.path)

    assert StatusLinkOpen.objects.filter(link=issued.link).count() == 1


def test_opens_are_limited_per_token(order, showcase, settings):
    settings.STATUS_LINK_OPENS_PER_MINUTE = 3
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    statuses = [Client(REMOTE_ADDR=f"198.51.100.{n}").get(issued.path).status_code for n in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    assert StatusLinkOpen.objects.filter(link=issued.link, outcome="limited").count() == 2


def test_guessing_tokens_is_limited_per_address(order, showcase, settings):
    settings.STATUS_LINK_OPENS_PER_MINUTE_PER_IP = 3
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    client = Client(REMOTE_ADDR="192.0.2.10")

    guesses = [client.get(f"/s/guessedtokenguessedtoken{n}/").status_code for n in range(3)]
    real = client.get(issued.path).status_code

    assert guesses == [404, 404, 404]
    assert real == 429


def test_an_expired_link_offers_a_fresh_one_and_the_request_is_published_once_an_hour(order, showcase):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, expires_in=timedelta(minutes=1))
    StatusLink.objects.filter(pk=issued.link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    page = Client(HTTP_ACCEPT_LANGUAGE="de").get(issued.path)
    first = Client().post(issued.path + "renew/")
    second = Client().post(issued.path + "renew/")

    assert page.status_code == 410
    assert "Einen neuen Link an den hinterlegten Kontakt senden" in page.content.decode()
    assert (first.status_code, second.status_code) == (200, 200)
    assert LinkRenewalRequest.objects.filter(link=issued.link).count() == 2
    (published,) = OutboxEvent.objects.filter(topic=RENEWAL_TOPIC)
    assert published.payload["link_public_id"] == str(issued.link.public_id)
    assert published.payload["audience"] == "customer"
    assert published.payload["order_public_id"] == str(order.public_id)
    assert published.payload["line_public_id"] is None


def test_a_usable_link_asking_for_renewal_is_sent_to_its_page(order, showcase):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    response = Client().post(issued.path + "renew/")

    assert response.status_code == 302
    assert not OutboxEvent.objects.filter(topic=RENEWAL_TOPIC).exists()


def test_link_pages_pass_no_token_as_referrer_and_are_not_cached(order, showcase):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    response = Client().get(issued.path)

    assert response["Referrer-Policy"] == "origin"
    assert "no-store" in response["Cache-Control"]


def test_tokens_are_redacted_from_request_and_access_logs(order, caplog):
    token = _token(status_link_issue(order=order, audience=LinkAudience.CUSTOMER))
    redact = TokenRedactingFilter()
    access = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/s/{token}/live/?since=3", "1.1", 200),
        None,
    )
    websocket = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", f"/ws/s/{token}/"),
        None,
    )

    for record in (access, websocket):
        redact.filter(record)
        assert token not in record.getMessage()
        assert "/s/[redacted]/" in record.getMessage()


def test_a_404_for_a_token_path_is_logged_without_the_token(caplog):
    token = "A" * 32

    with caplog.at_level(logging.WARNING, logger="django.request"):
        Client().get(f"/s/{token}/")

    assert caplog.records
    assert all(token not in record.getMessage() for record in caplog.records)
