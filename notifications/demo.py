"""Demo recipients of the showcase order (SO-DEMO-4711, made by seed_demo_portal): besides the
portal's German customer and technician, a French-speaking maintenance lead (SMS and email), a
Spanish-speaking buyer and the responsible planner in English, so that one status change of the
demo shows messages going out in several languages and on both channels (the console or a local
mail catcher, and the fake Twilio). Development only; phones in the UK range reserved for fiction."""

from orders.models import ContactRole, Order, OrderContact

SHOWCASE_ORDER = "SO-DEMO-4711"
SHOWCASE_CONTACTS = (
    {
        "role": ContactRole.REQUESTER,
        "name": "Florence Dubois",
        "email": "florence.dubois@example.com",
        "phone": "+447700900471",
        "language": "fr",
        "time_zone": "Europe/Paris",
    },
    {
        "role": ContactRole.REQUESTER,
        "name": "Lucía García",
        "email": "lucia.garcia@example.com",
        "phone": "",
        "language": "es",
        "time_zone": "Europe/Madrid",
    },
    {
        "role": ContactRole.PLANNER,
        "name": "Paul Planner",
        "email": "planner@example.com",
        "phone": "",
        "language": "en",
        "time_zone": "Europe/London",
    },
)


def showcase_contacts_ensure() -> int:
    """Add the showcase order's demo recipients it does not have yet (by email); returns how
    many were added (0 when the order is not there)."""
    order = Order.objects.filter(number=SHOWCASE_ORDER).order_by("pk").first()
    if order is None:
        return 0
    known = {email.lower() for email in OrderContact.objects.filter(order=order).values_list("email", flat=True)}
    missing = [fields for fields in SHOWCASE_CONTACTS if fields["email"] not in known]
    OrderContact.objects.bulk_create([OrderContact(order=order, **fields) for fields in missing])
    return len(missing)
