"""What a page's brand depends on, as a column of the query that reads the page's order: a cached
page keys on it (portal.page_cache), so a brand edited shows on the next read with no cache
read to learn of it. portal.branding serves the brand itself."""

from orders.models import Account
from portal.models import PortalProfile


def brand_stamp_sql(account_column: str) -> str:
    """SQL of a text column that changes whenever the brand of the account in `account_column`
    may: its dealer, and the portal profiles' count and last change (its own, its dealer's or
    the OEM's: any of them)."""
    profiles, accounts = PortalProfile._meta.db_table, Account._meta.db_table
    return (
        f"((SELECT CAST(COUNT(*) AS text) || ':' || COALESCE(CAST(MAX(pp.updated_at) AS text), '-') "
        f"FROM {profiles} pp) || ':' || "
        f"COALESCE((SELECT CAST(ba.dealer_id AS text) FROM {accounts} ba WHERE ba.id = {account_column}), '-'))"
    )
