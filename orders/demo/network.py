"""The demo service network: regions, sites, accounts, and how they are written to the database.

Rows are matched by their natural keys, so seeding twice reuses the network instead of copying it.
"""

import random
from dataclasses import dataclass, field

from orders.demo.catalogue import asset_rows, part_rows
from orders.models import Account, Asset, Part, Region, Site

REGIONS = [
    ("emea", "Europe, Middle East and Africa"),
    ("amer", "Americas"),
    ("apac", "Asia Pacific"),
]

DC, FSL, DEPOT, TPL = (
    Site.Kind.DISTRIBUTION_CENTRE,
    Site.Kind.FORWARD_STOCKING,
    Site.Kind.DEPOT,
    Site.Kind.THIRD_PARTY_LOGISTICS,
)
# code, name, kind, region, country, IANA time zone, source system that reports its warehouse steps
SITES = [
    ("dc-rotterdam", "DC Rotterdam", DC, "emea", "NL", "Europe/Amsterdam", "EWM-RTM"),
    ("fsl-frankfurt", "FSL Frankfurt Airport", FSL, "emea", "DE", "Europe/Berlin", "EWM-FRA"),
    ("fsl-lyon", "FSL Lyon Saint-Exupéry", FSL, "emea", "FR", "Europe/Paris", "EWM-LYS"),
    ("3pl-madrid", "3PL Madrid Coslada (Iberlog)", TPL, "emea", "ES", "Europe/Madrid", "3PL-IBERLOG"),
    ("depot-johannesburg", "Service Depot Johannesburg", DEPOT, "emea", "ZA", "Africa/Johannesburg", "DEPOT-PORTAL"),
    ("dc-memphis", "DC Memphis", DC, "amer", "US", "America/Chicago", "EWM-MEM"),
    ("fsl-calgary", "FSL Calgary", FSL, "amer", "CA", "America/Edmonton", "EWM-YYC"),
    ("3pl-santiago", "3PL Santiago (Andes Logística)", TPL, "amer", "CL", "America/Santiago", "3PL-ANDES"),
    ("depot-monterrey", "Service Depot Monterrey", DEPOT, "amer", "MX", "America/Monterrey", "DEPOT-PORTAL"),
    ("dc-singapore", "DC Singapore", DC, "apac", "SG", "Asia/Singapore", "EWM-SIN"),
    ("fsl-perth", "FSL Perth", FSL, "apac", "AU", "Australia/Perth", "EWM-PER"),
    ("3pl-narita", "3PL Narita (Kanto Logistics)", TPL, "apac", "JP", "Asia/Tokyo", "3PL-KANTO"),
    ("depot-pune", "Service Depot Pune", DEPOT, "apac", "IN", "Asia/Kolkata", "DEPOT-PORTAL"),
]

CUSTOMER, DEALER = Account.Kind.CUSTOMER, Account.Kind.DEALER
# number, name, kind, region, country, industry
ACCOUNTS = [
    ("C100101", "Nordmark Mining AB", CUSTOMER, "emea", "SE", "mining"),
    ("C100102", "Rheinland Tiefbau GmbH", CUSTOMER, "emea", "DE", "construction"),
    ("C100103", "Bâtiments Rhône-Alpes SA", CUSTOMER, "emea", "FR", "construction"),
    ("C100104", "Klinikum Oberhavel Radiologie", CUSTOMER, "emea", "DE", "medical"),
    ("C100105", "Centre Hospitalier de Bretagne Sud", CUSTOMER, "emea", "FR", "medical"),
    ("C100106", "Alpine Regional Airways", CUSTOMER, "emea", "AT", "aviation"),
    ("C100107", "Agrícola Campos de Castilla SL", CUSTOMER, "emea", "ES", "agriculture"),
    ("C100108", "Witwatersrand Deep Mining (Pty) Ltd", CUSTOMER, "emea", "ZA", "mining"),
    ("C100109", "Fenland Growers Co-operative", CUSTOMER, "emea", "GB", "agriculture"),
    ("C100110", "Aérotech MRO Toulouse", CUSTOMER, "emea", "FR", "aviation"),
    ("D200101", "Baumaschinen Hessen Vertrieb GmbH", DEALER, "emea", "DE", "construction"),
    ("D200102", "Iberia Agro Maquinaria SA", DEALER, "emea", "ES", "agriculture"),
    ("C100201", "Copper Ridge Mining Co.", CUSTOMER, "amer", "US", "mining"),
    ("C100202", "Minera Altiplano SpA", CUSTOMER, "amer", "CL", "mining"),
    ("C100203", "Great Plains Harvest Partners", CUSTOMER, "amer", "US", "agriculture"),
    ("C100204", "Lone Star Civil Constructors", CUSTOMER, "amer", "US", "construction"),
    ("C100205", "Hospital San Rafael de Monterrey", CUSTOMER, "amer", "MX", "medical"),
    ("C100206", "Northern Lights Air Cargo", CUSTOMER, "amer", "CA", "aviation"),
    ("C100207", "Imagerie Médicale Saint-Laurent", CUSTOMER, "amer", "CA", "medical"),
    ("C100208", "Bayou Aviation Services", CUSTOMER, "amer", "US", "aviation"),
    ("D200201", "Rocky Mountain Equipment Dealers", DEALER, "amer", "US", "construction"),
    ("D200202", "Maquinaria del Bajío SA de CV", DEALER, "amer", "MX", "agriculture"),
    ("C100301", "Pilbara Iron Haulage Pty Ltd", CUSTOMER, "apac", "AU", "mining"),
    ("C100302", "Kalgoorlie Gold Operations", CUSTOMER, "apac", "AU", "mining"),
    ("C100303", "Straits Airport Ground Services", CUSTOMER, "apac", "SG", "aviation"),
    ("C100304", "Deccan Infrastructure Projects Ltd", CUSTOMER, "apac", "IN", "construction"),
    ("C100305", "Riverina Grain Growers", CUSTOMER, "apac", "AU", "agriculture"),
    ("C100306", "Sakura Medical Imaging Center", CUSTOMER, "apac", "JP", "medical"),
    ("C100307", "Mekong Delta Agri Co.", CUSTOMER, "apac", "VN", "agriculture"),
    ("D200301", "Southern Cross Machinery Dealers", DEALER, "apac", "AU", "construction"),
]
# A Quebec hospital writes in French, a Chilean mine in Spanish; everyone else in English.
LANGUAGE_BY_ACCOUNT = {"C100207": "fr"}
LANGUAGE_BY_COUNTRY = {"DE": "de", "AT": "de", "FR": "fr", "ES": "es", "MX": "es", "CL": "es"}


@dataclass
class Network:
    """The seeded reference rows, indexed the way order generation needs them."""

    regions: dict[str, Region]
    sites_by_region: dict[str, list[Site]]
    warehouse_system: dict[int, str]
    accounts: list[Account]
    industry: dict[int, str]
    assets_by_account: dict[int, list[Asset]] = field(default_factory=dict)
    parts_by_industry: dict[str, list[Part]] = field(default_factory=dict)


def network_ensure(rng: random.Random, *, part_count: int = 300) -> Network:
    """Create the reference rows that are missing and return all of them."""
    Region.objects.bulk_create([Region(code=code, name=name) for code, name in REGIONS], ignore_conflicts=True)
    regions = {region.code: region for region in Region.objects.filter(code__in=[code for code, _ in REGIONS])}

    Site.objects.bulk_create(
        [
            Site(code=code, name=name, kind=kind, region=regions[region], country=country, time_zone=tz)
            for code, name, kind, region, country, tz, _system in SITES
        ],
        ignore_conflicts=True,
    )
    system_by_code = {row[0]: row[6] for row in SITES}
    sites = list(Site.objects.filter(code__in=system_by_code).select_related("region"))
    sites_by_region: dict[str, list[Site]] = {code: [] for code in regions}
    for site in sorted(sites, key=lambda site: site.code):
        sites_by_region[site.region.code].append(site)

    Account.objects.bulk_create(
        [
            Account(
                number=number,
                name=name,
                kind=kind,
                region=regions[region],
                country=country,
                language=LANGUAGE_BY_ACCOUNT.get(number, LANGUAGE_BY_COUNTRY.get(country, "en")),
            )
            for number, name, kind, region, country, _industry in ACCOUNTS
        ],
        ignore_conflicts=True,
    )
    industry_by_number = {row[0]: row[5] for row in ACCOUNTS}
    accounts = sorted(
        Account.objects.filter(number__in=industry_by_number).select_related("region"), key=lambda a: a.number
    )
    industry = {account.pk: industry_by_number[account.number] for account in accounts}

    customers = [account for account in accounts if account.kind == CUSTOMER]
    Asset.objects.bulk_create(asset_rows(rng, customers, industry), ignore_conflicts=True)
    assets_by_account: dict[int, list[Asset]] = {account.pk: [] for account in accounts}
    for asset in Asset.objects.filter(account__in=customers).order_by("serial_number"):
        assets_by_account[asset.account_id].append(asset)

    rows, industry_by_number = part_rows(rng, part_count)
    Part.objects.bulk_create(rows, ignore_conflicts=True)
    parts_by_industry: dict[str, list[Part]] = {}
    for part in Part.objects.filter(number__in=industry_by_number).order_by("number"):
        parts_by_industry.setdefault(industry_by_number[part.number], []).append(part)

    return Network(
        regions=regions,
        sites_by_region=sites_by_region,
        warehouse_system={site.pk: system_by_code[site.code] for site in sites},
        accounts=accounts,
        industry=industry,
        assets_by_account=assets_by_account,
        parts_by_industry=parts_by_industry,
    )
