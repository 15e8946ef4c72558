"""The status vocabulary table: customer-facing texts per status, editable per language."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.status import CUSTOMER_ALIAS, RANK, LineStatus


class StatusDefinition(models.Model):
    code = models.CharField(_("status"), max_length=20, choices=LineStatus.choices, primary_key=True)
    customer_label = models.CharField(_("customer label"), max_length=80)
    customer_description = models.CharField(_("customer description"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("status definition")
        verbose_name_plural = _("status definitions")

    def __str__(self) -> str:
        return self.get_code_display()

    @property
    def rank(self) -> int | None:
        return RANK.get(self.code)

    @property
    def internal_only(self) -> bool:
        """Internal statuses never reach customers; they see the status it stands for."""
        return self.code in CUSTOMER_ALIAS

    @property
    def shown_to_customer_as(self) -> str:
        return CUSTOMER_ALIAS.get(self.code, self.code)
