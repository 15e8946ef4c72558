"""Reference data of the service network: regions, sites, accounts, parts, assets, references."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.search_keys import search_key


class Region(models.Model):
    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        # Scope, granted per object (django-guardian): whose orders a person may see and work on.
        permissions = [("work_in_region", _("Can work on the orders of this region"))]

    def __str__(self) -> str:
        return self.name


class Site(models.Model):
    class Kind(models.TextChoices):
        DISTRIBUTION_CENTRE = "dc", _("Distribution centre")  # central or regional DC
        FORWARD_STOCKING = "fsl", _("Forward stocking location")  # small stock near customers
        DEPOT = "depot", _("Depot")  # service depot, often paper-based
        THIRD_PARTY_LOGISTICS = "3pl", _("Third-party logistics")  # 3PL warehouse
        DEALER = "dealer", _("Dealer")  # dealer holding stock

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="sites", verbose_name=_("region"))
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 alpha-2 code"))
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        permissions = [("work_at_site", _("Can work on the orders fulfilled by this site"))]

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer")  # end customer operating the equipment
        DEALER = "dealer", _("Dealer")  # dealer ordering on behalf of customers

    number = models.CharField(_("account number"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CUSTOMER)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("region"))
    country = models.CharField(_("country"), max_length=2)
    language = models.CharField(_("preferred language"), max_length=8, default="en")
    # The dealer that orders for this customer: the dealer's portal users see its orders too.
    dealer = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="served_accounts",
        limit_choices_to={"kind": "dealer"},
        verbose_name=_("served by dealer"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        permissions = [
            ("work_for_account", _("Can work on the orders of this account")),
            # Customer and dealer people in the portal, granted per account (django-guardian).
            ("follow_account_orders", _("Can follow the orders of this account in the customer portal")),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"


class Criticality(models.TextChoices):
    A = "A", _("A: equipment down or unsafe")  # every hour counts (AOG in aviation)
    B = "B", _("B: degraded operation")  # the machine runs, badly
    C = "C", _("C: routine or preventive")  # planned maintenance


class Part(models.Model):
    number = models.CharField(_("part number"), max_length=40, unique=True)
    description = models.CharField(_("description"), max_length=200)
    category = models.CharField(_("category"), max_length=60)
    criticality = models.CharField(_("criticality"), max_length=1, choices=Criticality.choices, db_index=True)

    class Meta:
        ordering = ["number"]
        indexes = [models.Index(search_key("number"), name="part_number_search_key")]
        verbose_name = _("part")
        verbose_name_plural = _("parts")

    def __str__(self) -> str:
        return f"{self.number} {self.description}"


class Asset(models.Model):
    serial_number = models.CharField(_("serial number"), max_length=60, unique=True)
    model_name = models.CharField(_("model"), max_length=120)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="assets", verbose_name=_("account"))
    location = models.CharField(_("location"), max_length=200, blank=True)
    downtime_cost_per_hour = models.DecimalField(
        _("downtime cost per hour"), max_digits=12, decimal_places=2, default=0
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")

    class Meta:
        ordering = ["serial_number"]
        verbose_name = _("asset")
        verbose_name_plural = _("assets")

    def __str__(self) -> str:
        return f"{self.model_name} {self.serial_number}"


class Issuer(models.TextChoices):
    """Who gave out an external number: it is unique only within its issuer."""

    ACCOUNT = "account", _("Account")  # customer references (PO): the account number
    SOURCE = "source", _("Source system")  # the source's own numbers (delivery items, BOL): its code
    CARRIER = "carrier", _("Carrier")  # the carrier's numbers (PRO, tracking): its SCAC


# Numbers of a shipment rather than of one line: a carrier fact naming one reaches the shipment.
SHIPMENT_REFERENCE_KINDS = frozenset({"bill_of_lading", "pro_number", "tracking_number"})


class LineReference(models.Model):
    """A number another system knows a line by, so that its updates find the line.

    A reference is (issuer, kind, value): two customers may use the same PO number, two
    carriers the same PRO number.
    """

    class Kind(models.TextChoices):
        SAP_DELIVERY_ITEM = "sap_delivery_item", _("SAP delivery item (VBELN/POSNR)")
        SAP_SALES_ORDER_ITEM = "sap_sales_order_item", _("SAP sales order item")
        BILL_OF_LADING = "bill_of_lading", _("Bill of lading")
        PRO_NUMBER = "pro_number", _("Carrier PRO number")
        TRACKING_NUMBER = "tracking_number", _("Carrier tracking number")
        PURCHASE_ORDER = "purchase_order", _("Purchase order")
        FIELD_SERVICE_JOB = "field_service_job", _("Field service job")

    line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.CASCADE, related_name="references", verbose_name=_("line")
    )
    issuer_kind = models.CharField(_("issued by"), max_length=10, choices=Issuer.choices, default=Issuer.SOURCE)
    issuer = models.CharField(
        _("issuer"), max_length=40, blank=True, help_text=_("Account number, source system code or carrier SCAC.")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=80)

    class Meta:
        verbose_name = _("line reference")
        verbose_name_plural = _("line references")
        constraints = [
            models.UniqueConstraint(
                fields=["line", "issuer_kind", "issuer", "kind", "value"], name="unique_line_reference"
            )
        ]
        indexes = [
            models.Index(fields=["kind", "value"], name="line_reference_lookup"),
            models.Index(search_key("value"), name="line_reference_search_key"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} ({self.issuer})"
