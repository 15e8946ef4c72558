"""The demo orders' requesters: each account's buyer, in the account's language and its country's
time zone, so that the demo's notifications reach someone (the console or a local mail catcher,
and the fake Twilio). Derived from the account alone: seeding consumes no randomness for them.

Addresses are at example.com and phones in the UK range reserved for fiction (+44 7700 900xxx):
a demo pointed at real providers still reaches nobody real."""

from orders.models import Account, ContactRole, Order, OrderContact, Priority

FIRST_NAMES = {
    "de": ("Anna", "Jonas", "Lena", "Felix"),
    "fr": ("Chloé", "Louis", "Camille", "Hugo"),
    "es": ("Lucía", "Mateo", "Sofía", "Diego"),
    "en": ("Emma", "Liam", "Olivia", "Noah"),
}
LAST_NAMES = {
    "de": ("Becker", "Hoffmann", "Schulz", "Wagner"),
    "fr": ("Martin", "Bernard", "Dubois", "Lefèvre"),
    "es": ("García", "Martínez", "López", "Sánchez"),
    "en": ("Smith", "Johnson", "Brown", "Taylor"),
}
TIME_ZONES = {
    "AT": "Europe/Vienna",
    "CA": "America/Toronto",
    "CL": "America/Santiago",
    "DE": "Europe/Berlin",
    "ES": "Europe/Madrid",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "MX": "America/Mexico_City",
    "SE": "Europe/Stockholm",
    "US": "America/Chicago",
    "ZA": "Africa/Johannesburg",
    "AU": "Australia/Perth",
    "SG": "Asia/Singapore",
    "IN": "Asia/Kolkata",
    "JP": "Asia/Tokyo",
    "VN": "Asia/Ho_Chi_Minh",
}


def demo_requester(account: Account, order: Order) -> OrderContact:
    """The account's buyer as the order's requester; a phone for urgent orders (SMS at once)."""
    language = account.language if account.language in FIRST_NAMES else "en"
    digits = sum(ord(char) for char in account.number)
    first = FIRST_NAMES[language][digits % 4]
    last = LAST_NAMES[language][(digits // 4) % 4]
    urgent = order.priority in (Priority.EMERGENCY, Priority.URGENT)
    return OrderContact(
        order=order,
        role=ContactRole.REQUESTER,
        name=f"{first} {last}",
        email=f"buyer.{account.number.lower()}@example.com",
        phone=f"+447700900{digits % 1000:03d}" if urgent else "",
        language=account.language,
        time_zone=TIME_ZONES.get(account.country, "UTC"),
    )
