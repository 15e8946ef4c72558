"""The people of an order as sources and people give them: checked (an email address, a phone
number in E.164, a language code, a time zone) and stored in one form, so that messages reach
them and a STOP from a number blocks the contact stored with spaces in it.

An order upsert that names contacts replaces the order's contacts of the roles it names (a
source that sends the requester replaces the requester; technicians and planners added by people
stay). A contact already on the order is kept and updated when the new one has its email address
or phone number, so the portal user linked to it and its message history stay with it."""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from orders.models import ContactRole, Order, OrderContact
from orders.models.people import validate_time_zone

SEPARATORS = re.compile(r"[\s().\-/\u00a0]")
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z]{2,4})?$")


@dataclass(frozen=True)
class ContactData:
    name: str
    role: str = ContactRole.REQUESTER
    email: str = ""
    phone: str = ""
    language: str = ""  # "de", "fr-CA"; blank: the account's
    time_zone: str = ""  # "Europe/Berlin"; blank: the site's or UTC


def phone_normalised(value: str) -> str:
    """ "+49 (151) 123-45678" and "0049 151 12345678" → "+4915112345678". A number without a
    country code cannot be made E.164 here and is returned without its separators."""
    number = SEPARATORS.sub("", value or "")
    if number.startswith("00"):
        number = "+" + number[2:]
    return number


def phone_checked(value: str) -> str:
    """The number in E.164 (blank stays blank), or a ValidationError saying what is wrong."""
    phone = phone_normalised(value)
    if phone and not E164.match(phone):
        raise ValidationError(
            _("“%(phone)s” is not a phone number with its country code (E.164), e.g. +4915112345678.")
            % {"phone": value[:40]}
        )
    return phone


def language_checked(value: str) -> str:
    language = (value or "").strip().replace("_", "-").lower()
    if language and not LANGUAGE.match(language):
        raise ValidationError(
            _("“%(language)s” is not a language code such as de or fr-CA.") % {"language": value[:20]}
        )
    return language


def contact_checked(data: ContactData, *, where: str = "contacts") -> ContactData:
    """`data` in stored form, or a ValidationError naming the field (`where`.phone, ...)."""
    errors: dict[str, list] = {}

    def check(field: str, clean) -> str:
        try:
            return clean()
        except ValidationError as error:
            errors[f"{where}.{field}"] = error.messages
            return ""

    def email() -> str:
        address = (data.email or "").strip()
        if address:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(_("“%(email)s” is not an email address.") % {"email": address[:80]}) from None
        return address

    def time_zone() -> str:
        zone = (data.time_zone or "").strip()
        validate_time_zone(zone)
        return zone

    def role() -> str:
        if data.role not in ContactRole.values:
            raise ValidationError(
                _("“%(role)s” is not a role: requester, technician or planner.") % {"role": str(data.role)[:20]}
            )
        return data.role

    def name() -> str:
        text = " ".join((data.name or "").split())
        if not text:
            raise ValidationError(_("A contact needs a name."))
        if len(text) > 120:
            raise ValidationError(_("A name has at most 120 characters."))
        return text

    checked = ContactData(
        name=check("name", name),
        role=check("role", role),
        email=check("email", email),
        phone=check("phone", lambda: phone_checked(data.phone)),
        language=check("language", lambda: language_checked(data.language)),
        time_zone=check("time_zone", time_zone),
    )
    if not errors and not (checked.email or checked.phone):
        errors[f"{where}.email"] = [_("Give an email address or a phone number: a contact must be reachable.")]
    if errors:
        raise ValidationError(errors)
    return checked


def contacts_checked(contacts: tuple[ContactData, ...]) -> tuple[ContactData, ...]:
    """Every contact checked; all problems reported at once, each under contacts[i].field."""
    errors: dict[str, list] = {}
    checked = []
    for index, data in enumerate(contacts):
        try:
            checked.append(contact_checked(data, where=f"contacts[{index}]"))
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return tuple(checked)


def order_contacts_replace(*, order: Order, contacts: tuple[ContactData, ...]) -> None:
    """Replace the order's contacts of the roles `contacts` name (checked already, the order
    locked by the caller). A contact with the same email or phone in that role is updated in
    place; the others of that role are removed."""
    roles = {data.role for data in contacts}
    existing = list(OrderContact.objects.filter(order=order, role__in=roles).order_by("pk"))
    kept: set[int] = set()
    for data in contacts:
        same = next(
            (
                contact
                for contact in existing
                if contact.pk not in kept
                and contact.role == data.role
                and (
                    (data.email and contact.email.lower() == data.email.lower())
                    or (data.phone and phone_normalised(contact.phone) == data.phone)
                )
            ),
            None,
        )
        contact = same or OrderContact(order=order, role=data.role)
        contact.name, contact.email, contact.phone = data.name, data.email, data.phone
        contact.language, contact.time_zone = data.language, data.time_zone
        contact.save()
        kept.add(contact.pk)
    OrderContact.objects.filter(pk__in=[c.pk for c in existing if c.pk not in kept]).delete()
