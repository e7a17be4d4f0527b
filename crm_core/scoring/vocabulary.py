"""Words for a lead's factors as a salesperson reads them: the labels of Dynamics' option sets (leadsourcecode,
leadqualitycode, industrycode), and the free mail domains that tell a private address from a company's."""

LEAD_SOURCES = {
    1: "Advertisement",
    2: "Employee Referral",
    3: "External Referral",
    4: "Partner",
    5: "Public Relations",
    6: "Seminar",
    7: "Trade Show",
    8: "Web",
    9: "Word of Mouth",
    10: "Other",
}
RATINGS = {1: "Hot", 2: "Warm", 3: "Cold"}
INDUSTRIES = {
    1: "Accounting",
    2: "Agriculture",
    3: "Broadcasting, Printing and Publishing",
    4: "Brokers",
    5: "Building Supply Retail",
    6: "Business Services",
    7: "Consulting",
    8: "Consumer Services",
    9: "Design and Creative Management",
    10: "Distributors and Processors",
    11: "Doctor's Offices and Clinics",
    12: "Durable Manufacturing",
    13: "Eating and Drinking Places",
    14: "Entertainment Retail",
    15: "Equipment Rental and Leasing",
    16: "Financial",
    17: "Food and Tobacco Processing",
    18: "Capital Intensive Processing",
    19: "Repair and Services",
    20: "Insurance",
    21: "Legal Services",
    22: "Non-Durable Merchandise Retail",
    23: "Consumer Service",
    24: "Petrochemicals",
    25: "Service Retail",
    26: "SIG Affiliations",
    27: "Social Services",
    28: "Trade Contractors",
    29: "Specialty Realty",
    30: "Transportation",
    31: "Utilities",
    32: "Vehicle Retail",
    33: "Wholesale",
}
# Mail providers anyone can sign up to: an address there says nothing of an employer.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "hotmail.com",
        "hotmail.fr",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "mail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "yandex.ru",
        "proton.me",
        "protonmail.com",
        "zoho.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "qq.com",
        "163.com",
        "mail.ru",
    }
)


def option_label(field: str, value: object) -> str:
    """The label of an option set value, or the value itself."""
    table = {"lead_source_code": LEAD_SOURCES, "lead_quality_code": RATINGS, "industry_code": INDUSTRIES}.get(field)
    if table is not None and isinstance(value, int):
        return table.get(value, str(value))
    return str(value)


def email_domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().lower() or None


def email_domain_kind(address: str | None) -> str:
    """free (a mail provider's), corporate (anyone else's) or none."""
    domain = email_domain(address)
    if domain is None:
        return "none"
    return "free" if domain in FREE_MAIL_DOMAINS else "corporate"
