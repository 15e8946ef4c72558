"""Depot sheet uploads: which file a clerk uploaded, and what became of each of its rows."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SheetUpload(models.Model):
    source = models.ForeignKey(
        "integrations.SourceSystem", on_delete=models.PROTECT, related_name="sheet_uploads", verbose_name=_("depot")
    )
    filename = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("content hash"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("depot sheet upload")
        verbose_name_plural = _("depot sheet uploads")

    def __str__(self) -> str:
        return f"{self.source_id}: {self.filename}"


class SheetUploadRow(models.Model):
    """One filled-in row of an upload: the message it became, or why it could not be read."""

    upload = models.ForeignKey(SheetUpload, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField(_("row"))  # the spreadsheet row: the header is row 1
    message = models.ForeignKey(
        "integrations.InboundMessage", on_delete=models.PROTECT, null=True, blank=True, related_name="sheet_rows"
    )
    duplicate = models.BooleanField(_("received before"), default=False)  # `message` is the earlier one
    error_reason = models.CharField(_("problem"), max_length=20, blank=True)  # a csv_depot.RowError reason
    error = models.TextField(_("error"), blank=True)
    raw = models.TextField(_("raw row"), blank=True)  # a row that became no message is kept here

    class Meta:
        ordering = ["upload", "row_number"]
        verbose_name = _("depot sheet row")
        verbose_name_plural = _("depot sheet rows")
        constraints = [models.UniqueConstraint(fields=["upload", "row_number"], name="unique_sheet_row")]

    def __str__(self) -> str:
        return f"{self.upload} row {self.row_number}"
