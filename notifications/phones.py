"""Phone numbers in one form (E.164) wherever notifications compare them: a STOP from
+4915112345678 blocks the contact stored as "+49 151 12345678". The form is the core's (order
contacts are checked and stored in it)."""

from orders.services.contacts import E164, phone_normalised

__all__ = ["E164", "phone_normalised"]
