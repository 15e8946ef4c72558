"""The order page's status links come in pages of 20, newest first, with a pager in the person's
language that keeps the timeline asked for and drops anything made up. Each page of links is a
cached page of its own (the page number is in the key); a page number nobody's pager writes is
answered but never cached; and a page costs the same queries however many links it lists."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal import page_cache
from portal.models import LinkAudience, StatusLink
from portal.services.links import status_link_issue, status_link_revoke
from tests.factories import UserFactory
from tests.portal.fixtures import signed_in

pytestmark = pytest.mark.django_db


def _page(client, order, query: str = "") -> str:
    response = client.get(f"/portal/orders/{order.public_id}/" + (f"?{query}" if query else ""))
    assert response.status_code == 200
    return response.content.decode()


def _listed(page: str) -> list[str]:
    return re.findall(r'<tr id="link-([0-9a-f-]+)"', page)


def _pager(page: str) -> str:
    return page.split('<nav class="pt-pages"')[1].split("</nav>")[0]


def _cached_page_count() -> int:
    return len(page_cache._local._entries)


@pytest.fixture
def links_45(order, showcase, customer) -> list[str]:
    """45 links of the order, the newest first (as the page lists them)."""
    issued = [status_link_issue(order=order, audience=LinkAudience.CUSTOMER) for _ in range(45)]
    return [str(link.link.public_id) for link in reversed(issued)]


def test_links_come_twenty_a_page_newest_first(order, customer, links_45):
    client = signed_in(customer)

    pages = [_page(client, order, query) for query in ("", "links_page=2", "links_page=3")]

    assert [_listed(page) for page in pages] == [links_45[:20], links_45[20:40], links_45[40:]]
    assert "Page 1 of 3" in _pager(pages[0]) and "Page 3 of 3" in _pager(pages[2])
    assert "Newer links" not in _pager(pages[0]) and "Older links" not in _pager(pages[2])


def test_a_short_list_has_no_pager(order, showcase, customer):
    status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    assert 'class="pt-pages"' not in _page(signed_in(customer), order)


@pytest.mark.parametrize(
    ("language", "older", "page"),
    [
        ("de", "Ältere Links", "Seite 2 von 3"),
        ("fr", "Liens plus anciens", "Page 2 sur 3"),
        ("es", "Enlaces más antiguos", "Página 2 de 3"),
    ],
)
def test_the_pager_speaks_the_persons_language(order, customer, links_45, language, older, page):
    pager = _pager(_page(signed_in(customer, language), order, "links_page=2"))

    assert older in pager and page in pager


def test_the_pager_keeps_the_timeline_and_drops_anything_made_up(order, customer, links_45):
    path = f"/portal/orders/{order.public_id}/"

    plain = _pager(_page(signed_in(customer), order, "links_page=2"))
    with_timeline = _pager(_page(signed_in(customer), order, "timeline=all&links_page=2&utm_source=mail"))

    assert f'href="{path}#status-links" rel="prev"' in plain  # the first page is the page itself
    assert f'href="{path}?links_page=3#status-links" rel="next"' in plain
    assert f'href="{path}?timeline=all#status-links" rel="prev"' in with_timeline
    assert f'href="{path}?timeline=all&amp;links_page=3#status-links" rel="next"' in with_timeline
    assert "utm_source" not in with_timeline


def test_a_page_number_out_of_range_or_nonsense_shows_a_page_of_links(order, customer, links_45):
    client = signed_in(customer)

    assert _listed(_page(client, order, "links_page=99")) == links_45[40:]  # the last
    assert _listed(_page(client, order, "links_page=0")) == links_45[:20]
    assert _listed(_page(client, order, "links_page=two")) == links_45[:20]


def test_each_page_of_links_is_cached_as_its_own_page(order, customer, links_45):
    client = signed_in(customer)
    _page(client, order)
    _page(client, order, "links_page=2")
    _page(client, order, "timeline=all&links_page=3")
    cached = _cached_page_count()

    # read again, from the cache: each its own links
    assert _listed(_page(client, order, "links_page=2")) == links_45[20:40]
    assert _listed(_page(client, order)) == links_45[:20]
    assert _listed(_page(client, order, "timeline=all&links_page=3")) == links_45[40:]
    assert cached == 3 and _cached_page_count() == 3


def test_page_numbers_no_pager_writes_are_answered_but_never_cached(order, customer, links_45):
    client = signed_in(customer)
    _page(client, order)
    cached = _cached_page_count()

    for query in ("links_page=1", "links_page=4", "links_page=999", "links_page=02", "links_page=2&timeline=all"):
        assert "Nordhafen" in _page(client, order, query)

    assert _cached_page_count() == cached


def test_a_link_added_or_revoked_changes_every_cached_page_of_links(order, customer, links_45):
    client = signed_in(customer)
    _page(client, order, "links_page=2")
    status_link_issue(order=order, audience=LinkAudience.CUSTOMER)  # the newest: pushes one down

    assert _listed(_page(client, order, "links_page=2"))[0] == links_45[19]

    status_link_revoke(link=StatusLink.objects.get(public_id=links_45[25]))
    assert "<strong>Revoked</strong>" in _page(client, order, "links_page=2").split(links_45[25])[1].split("</tr>")[0]


def test_revoking_a_link_returns_to_its_page_of_links(order, customer, links_45):
    client = signed_in(customer)

    response = client.post(f"/portal/links/{links_45[25]}/revoke/", {"links_page": "2", "confirmed": "1"})

    assert response["Location"] == f"/portal/orders/{order.public_id}/?links_page=2#status-links"


def test_a_page_of_links_costs_the_same_queries_however_many_it_lists(order, showcase, customer):
    client = signed_in(customer)
    colleague = UserFactory(username="colleague")
    status_link_issue(order=order, line=showcase["20"], audience=LinkAudience.CUSTOMER, issued_by=customer)

    def queries() -> int:
        cache.clear()  # each read renders the whole page anew
        page_cache.local_pages_clear()
        with CaptureQueriesContext(connection) as captured:
            _page(client, order)
        return len(captured)

    few = queries()
    lines = list(showcase.values())
    for number in range(19):
        issued = status_link_issue(
            order=order,
            line=lines[number % len(lines)] if number % 3 else None,
            audience=LinkAudience.CUSTOMER,
            issued_by=[customer, colleague, None][number % 3],
        )
        if number % 4 == 0:
            status_link_revoke(link=issued.link, revoked_by=customer)
    many = queries()

    assert len(_listed(_page(client, order))) == 20
    assert many == few
