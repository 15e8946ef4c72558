"""Which of the three doors a person has pages behind: the customer portal (accounts they
follow), the technician pages (jobs they are the technician of) and the back office (a role
that sees orders). Used to send people to their own pages after signing in and to point the
way from a page that has nothing for them."""

from dataclasses import dataclass

from orders.scoping import accounts_followed_by, orders_of_technician


@dataclass(frozen=True)
class Doors:
    portal: bool = False
    tech: bool = False
    backoffice: bool = False


def doors_for(user) -> Doors:
    if not user.is_authenticated:
        return Doors()
    return Doors(
        portal=accounts_followed_by(user).exists(),
        tech=orders_of_technician(user).exists(),
        backoffice=user.has_perm("orders.view_order"),
    )


def technician_only(user) -> bool:
    """A field technician with jobs and no followed accounts: their pages are /tech/."""
    doors = doors_for(user)
    return doors.tech and not doors.portal
