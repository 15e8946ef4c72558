"""Which status link a message gave which recipient, so the next message about the same order
gives them the same link (see notifications.recipient_links for the rule)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RecipientLink(models.Model):
    """A portal status link issued for one order contact by a message. The portal stores only
    the token's hash; the token is kept here sealed with a key derived from SECRET_KEY and the
    link's public id, so the database alone still opens no link."""

    contact = models.ForeignKey(
        "orders.OrderContact", on_delete=models.CASCADE, related_name="+", verbose_name=_("contact")
    )
    link = models.OneToOneField(
        "portal.StatusLink", on_delete=models.CASCADE, related_name="+", verbose_name=_("status link")
    )
    sealed_token = models.CharField(_("sealed token"), max_length=256, editable=False)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)

    class Meta:
        verbose_name = _("status link of a recipient")
        verbose_name_plural = _("status links of recipients")
        indexes = [models.Index(fields=["contact", "-issued_at"], name="recipient_link_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} → {self.link_id}"
