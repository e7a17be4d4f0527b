"""The demo organisation as data: Contoso Ltd, its people, customers, leads and a few weeks of activities.

Company names and domains are Microsoft's fictitious ones (contoso.com, fabrikam.com...), so that no real
person or firm appears. Phone numbers use the 555-01xx range reserved for fiction. Activity times are days
relative to the moment of loading, so that the demo always has a recent past and a near future."""

from dataclasses import dataclass, field
from decimal import Decimal

ROOT_NAME = "Contoso Ltd"
DEFAULT_ROOT_NAME = "Organisation"  # what `crm db upgrade` names the root before anyone renames it
TOKEN_NAME = "demo"  # noqa: S105 (the label of the demo users' API tokens, not a secret)
SEED = 20240917

# (name, parent name; None = under the root)
UNITS: tuple[tuple[str, str | None], ...] = (("Sales", None), ("Sales West", "Sales"), ("Service", None))


@dataclass(frozen=True)
class DemoUser:
    key: str
    email: str
    full_name: str
    unit: str | None  # None = the root unit
    roles: tuple[str, ...]


ADMIN = "admin"  # the key of the System Administrator, whose token the README uses
USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "admin@contoso.com", "Alex Morgan", None, ("System Administrator",)),
    DemoUser("manager", "nina.patel@contoso.com", "Nina Patel", "Sales", ("Sales Manager",)),
    DemoUser("sales", "tom.becker@contoso.com", "Tom Becker", "Sales", ("Salesperson",)),
    DemoUser("west", "lucia.ortiz@contoso.com", "Lucía Ortiz", "Sales West", ("Salesperson",)),
    DemoUser("service", "sam.okafor@contoso.com", "Sam Okafor", "Service", ("Customer Service Representative",)),
)

# The owner team: it owns the two key accounts; its members act for it with the team's role.
TEAM_NAME = "Key Accounts"
TEAM_UNIT = "Sales"
TEAM_MEMBERS = ("manager", "sales")
TEAM_ROLES = ("Salesperson",)
TEAM = "team"  # owner key of team-owned records


@dataclass(frozen=True)
class DemoAccount:
    key: str
    name: str
    owner: str  # a user key or TEAM
    number: str
    domain: str
    industry_code: int  # Dynamics industrycode
    customer_type_code: int  # 3 Customer, 5 Partner, 8 Prospect, 10 Supplier
    line1: str
    city: str
    state: str | None
    postal_code: str
    country: str
    phone: str
    employees: int
    revenue: Decimal
    contacts: int  # how many contacts to make for it
    parent: str | None = None
    description: str | None = None
    inactive: bool = False


ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("fabrikam", "Fabrikam, Inc.", "manager", "FAB-0001", "fabrikam.com", 12, 3,
                "1 Microsoft Way", "Seattle", "WA", "98101", "United States", "+1 206 555 0100",
                5400, Decimal("1200000000"), 3, description="Industrial equipment; our largest customer."),
    DemoAccount("fabrikam_eu", "Fabrikam Europe GmbH", "manager", "FAB-0002", "fabrikam.com", 12, 3,
                "Leopoldstraße 12", "München", "Bayern", "80802", "Germany", "+49 89 5550 1200",
                800, Decimal("140000000"), 1, parent="fabrikam"),
    DemoAccount("northwind", "Northwind Traders", "manager", "NWT-0100", "northwindtraders.com", 33, 3,
                "200 SW Market St", "Portland", "OR", "97201", "United States", "+1 503 555 0142",
                320, Decimal("48000000"), 3),
    DemoAccount("adventure", "Adventure Works", "sales", "ADV-0001", "adventure-works.com", 22, 3,
                "18000 Bothell Way", "Bothell", "WA", "98011", "United States", "+1 425 555 0177",
                1200, Decimal("310000000"), 3),
    DemoAccount("adventure_cycles", "Adventure Works Cycles", "sales", "ADV-0002", "adventure-works.com", 12, 3,
                "2 Cycle Lane", "Redmond", "WA", "98052", "United States", "+1 425 555 0178",
                210, Decimal("27000000"), 2, parent="adventure"),
    DemoAccount("proseware", "Proseware, Inc.", "sales", "PRO-0001", "proseware.com", 6, 8,
                "75 State St", "Boston", "MA", "02109", "United States", "+1 617 555 0119",
                90, Decimal("12500000"), 2, description="Evaluating us against two competitors."),
    DemoAccount("woodgrove", "Woodgrove Bank", TEAM, "WGB-0001", "woodgrovebank.com", 16, 3,
                "100 Park Ave", "New York", "NY", "10017", "United States", "+1 212 555 0150",
                9800, Decimal("4100000000"), 3),
    DemoAccount("humongous", "Humongous Insurance", TEAM, "HUM-0001", "humongousinsurance.com", 20, 3,
                "233 S Wacker Dr", "Chicago", "IL", "60606", "United States", "+1 312 555 0163",
                4300, Decimal("2300000000"), 3),
    DemoAccount("alpine", "Alpine Ski House", "west", "ASH-0001", "alpineskihouse.com", 25, 3,
                "1701 Wynkoop St", "Denver", "CO", "80202", "United States", "+1 303 555 0108",
                140, Decimal("9000000"), 3),
    DemoAccount("coho", "Coho Winery", "west", "COH-0001", "cohowinery.com", 17, 3,
                "1285 Napa Town Center", "Napa", "CA", "94559", "United States", "+1 707 555 0131",
                60, Decimal("7400000"), 2),
    DemoAccount("coho_tours", "Coho Vineyard Tours", "west", "COH-0002", "cohowinery.com", 25, 3,
                "9 Vineyard Rd", "Sonoma", "CA", "95476", "United States", "+1 707 555 0132",
                15, Decimal("900000"), 2, parent="coho"),
    DemoAccount("tailspin", "Tailspin Toys", "west", "TST-0001", "tailspintoys.com", 22, 3,
                "600 B St", "San Diego", "CA", "92101", "United States", "+1 619 555 0185",
                45, Decimal("3100000"), 2, description="Closed its stores; kept for history.", inactive=True),
    DemoAccount("litware", "Litware, Inc.", "service", "LIT-0001", "litwareinc.com", 7, 3,
                "4567 Main St", "Redmond", "WA", "98052", "United States", "+1 425 555 0196",
                380, Decimal("52000000"), 3),
    DemoAccount("cpandl", "City Power & Light", "service", "CPL-0001", "cpandl.com", 31, 3,
                "1100 K St", "Sacramento", "CA", "95814", "United States", "+1 916 555 0124",
                2600, Decimal("900000000"), 3),
    DemoAccount("trey", "Trey Research", "admin", "TRR-0001", "treyresearch.net", 7, 5,
                "500 Howard St", "San Francisco", "CA", "94105", "United States", "+1 415 555 0111",
                75, Decimal("11000000"), 2),
)

# Contacts with no account: (owner key, first, last, job title, email)
INDEPENDENT_CONTACTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("sales", "Priya", "Raman", "Independent procurement consultant", "priya@ramanconsulting.example.com"),
    ("west", "Diego", "Fernández", "Event planner", "diego.fernandez@margiestravel.com"),
    ("service", "Hannah", "Schmidt", "Freelance IT administrator", "hannah.schmidt@lucernepublishing.com"),
)

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sophia", "Lucas", "Mia", "Ethan", "Amelia", "Ravi",
    "Chloé", "Kenji", "Fatima", "Jonas", "Grace", "Omar", "Ingrid", "Samuel", "Aisha", "Daniel", "Yuki",
    "Marco", "Zoë", "Felix", "Leah", "Andrés", "Nora", "Victor", "Elena", "Hugo", "Sara", "Tariq", "Julia",
    "Pierre", "Maya", "Oscar", "Anya", "Henrik",
)
LAST_NAMES = (
    "Anderson", "Baker", "Chen", "Dubois", "Eriksen", "Fischer", "García", "Hughes", "Ibrahim", "Jensen",
    "Kowalski", "Lambert", "Moreau", "Nakamura", "O'Brien", "Petrov", "Quinn", "Rossi", "Sato", "Turner",
    "Umar", "Vasquez", "Walsh", "Xu", "Young", "Zimmermann", "Brooks", "Carter", "Dalton", "Ellis",
    "Foster", "Grant", "Hayes", "Iyer", "Keller", "Lindqvist", "Mendes", "Novak", "Ortega", "Patel",
)
JOB_TITLES = (
    "Purchasing Manager", "Chief Financial Officer", "IT Director", "Operations Manager", "Head of Procurement",
    "Facilities Manager", "Sales Director", "Office Manager", "Chief Executive Officer", "Project Lead",
    "Marketing Manager", "Buyer", "Service Desk Lead", "Logistics Coordinator",
)
HOME_STREETS = ("Maple Ave", "Oak St", "Pine Rd", "Cedar Ln", "Birch Way", "Elm Ct", "Willow Dr", "Lake View")


@dataclass(frozen=True)
class DemoLead:
    key: str
    owner: str
    subject: str
    first_name: str | None
    last_name: str | None
    company: str
    job_title: str | None
    email: str | None
    source_code: int  # 1 Advertisement, 2 Employee Referral, 3 External Referral, 4 Partner, 6 Seminar, ...
    quality_code: int  # 1 Hot, 2 Warm, 3 Cold
    amount: Decimal | None
    phone: str | None = None
    parent_account: str | None = None  # an existing customer's new need
    disqualified: int | None = None  # a Disqualified status reason: 4 Lost, 5 Cannot Contact, 6 No Longer Int.


LEADS: tuple[DemoLead, ...] = (
    DemoLead("lucerne", "sales", "50 design workstations for the new office", "Kevin", "Liu", "Lucerne Publishing",
             "Office Manager", "kevin.liu@lucernepublishing.com", 8, 1, Decimal("85000"), "+1 212 555 0191"),
    DemoLead("blueyonder", "sales", "Fleet telematics pilot", "Maria", "Santos", "Blue Yonder Airlines",
             "Head of Ground Operations", "maria.santos@blueyonderairlines.com", 7, 2, Decimal("120000")),
    DemoLead("relecloud", "sales", "Annual maintenance renewal", "Ben", "Walker", "Relecloud", "IT Manager",
             "ben.walker@relecloud.com", 9, 2, Decimal("30000")),
    DemoLead("fourthcoffee", "manager", "Coffee machine service contract", "Ahmed", "Hassan", "Fourth Coffee",
             "Facilities Manager", "ahmed.hassan@fourthcoffee.com", 2, 2, Decimal("24000")),
    DemoLead("fabrikam_parts", "manager", "Upsell: spare parts subscription", None, None, "Fabrikam, Inc.",
             None, None, 10, 1, Decimal("60000"), parent_account="fabrikam"),
    DemoLead("margies", "west", "Ski trip booking system", "Emma", "Larsen", "Margie's Travel",
             "Product Owner", "emma.larsen@margiestravel.com", 6, 3, Decimal("15000")),
    DemoLead("wwi", "west", "Warehouse scanners for three sites", "Jun", "Park", "Wide World Importers",
             "Warehouse Manager", "jun.park@wideworldimporters.com", 4, 2, Decimal("42000"), "+1 415 555 0147"),
    DemoLead("gdi", "west", "Event sponsorship enquiry", "Lena", "Vogel", "Graphic Design Institute",
             "Events Coordinator", "lena.vogel@graphicdesigninstitute.com", 5, 3, Decimal("5000"),
             disqualified=6),
    DemoLead("adatum", "service", "Support plan for 200 seats", "Grace", "Kim", "A. Datum Corporation",
             "Service Desk Lead", "grace.kim@adatum.com", 3, 1, Decimal("48000")),
    DemoLead("bellows", "admin", "Research data platform", None, None, "Bellows College", None,
             "procurement@bellowscollege.com", 10, 3, None),
)

# Activity parties are (role, who): the roles of crm_core.activity_catalogue.PARTY_ROLES (sender, to, cc,
# required_attendee...), and who as "user:<key>", "contact:<account key>/<n>" (the n-th contact of that
# account, from 0), "lead:<key>", "account:<key>" or "address:<email>" (a bare address). An email's parties
# are given by address only, as mail brings them, and the activity service resolves them to records.


@dataclass(frozen=True)
class DemoActivity:
    kind: str  # phone_call, email, task, appointment, letter, fax
    owner: str  # user key
    subject: str
    regarding: str  # "account:fabrikam", "contact:coho/1", "lead:lucerne"
    day: int  # days from now (negative: past)
    hour: int  # UTC
    minutes: int  # duration
    state: tuple[int, int]  # (statecode, statuscode) as DOMAIN.md lists them per type
    parties: tuple[tuple[str, str], ...] = ()  # (role, party reference)
    outgoing: bool | None = None
    description: str | None = None
    extra: dict[str, object] = field(default_factory=dict)  # the type's own columns


# (statecode, statuscode) pairs, by type
CALL_OPEN, CALL_MADE, CALL_RECEIVED, CALL_CANCELED = (0, 1), (1, 2), (1, 4), (2, 3)
MAIL_DRAFT, MAIL_SENT, MAIL_RECEIVED = (0, 1), (1, 3), (1, 4)
TASK_NOT_STARTED, TASK_DONE = (0, 2), (1, 5)
MEETING_BUSY, MEETING_DONE = (3, 5), (1, 3)
LETTER_SENT, FAX_RECEIVED = (1, 4), (1, 4)

ACTIVITIES: tuple[DemoActivity, ...] = (
    # phone calls
    DemoActivity("phone_call", "sales", "Discovery call with Adventure Works purchasing", "account:adventure",
                 -20, 15, 25, CALL_MADE, (("sender", "user:sales"), ("to", "contact:adventure/0")), True,
                 "Budget approved for Q3; they want a demo for the cycles subsidiary.",
                 {"phone_number": "+1 425 555 0177"}),
    DemoActivity("phone_call", "sales", "Follow up on the workstation quote", "lead:lucerne", 2, 16, 15,
                 CALL_OPEN, (("sender", "user:sales"), ("to", "lead:lucerne")), True,
                 extra={"phone_number": "+1 212 555 0191"}),
    DemoActivity("phone_call", "sales", "Introduction call with Humongous Insurance", "account:humongous",
                 -4, 17, 30, CALL_CANCELED, (("sender", "user:sales"), ("to", "contact:humongous/0")), True,
                 "Canceled by the customer; rebook after their audit."),
    DemoActivity("phone_call", "manager", "Quarterly check-in", "account:fabrikam", -7, 16, 20, CALL_MADE,
                 (("sender", "user:manager"), ("to", "contact:fabrikam/0")), True),
    DemoActivity("phone_call", "west", "Question about tasting room bookings", "contact:coho/1", -3, 18, 10,
                 CALL_RECEIVED, (("sender", "contact:coho/1"), ("to", "user:west")), False),
    DemoActivity("phone_call", "west", "Call Alpine Ski House about the season start", "account:alpine",
                 1, 17, 15, CALL_OPEN, (("sender", "user:west"), ("to", "contact:alpine/0")), True),
    DemoActivity("phone_call", "service", "Callback about the billing portal outage", "account:cpandl",
                 -1, 14, 12, CALL_MADE, (("sender", "user:service"), ("to", "contact:cpandl/0")), True),
    # emails
    DemoActivity("email", "manager", "Fabrikam: proposal for spare parts", "account:fabrikam", -10, 9, 0,
                 MAIL_SENT, (("sender", "user:manager"), ("to", "contact:fabrikam/0"), ("cc", "contact:fabrikam/1")),
                 True, extra={"body_text": "Hello,\n\nplease find our proposal for the spare parts subscription "
                              "attached. Happy to walk you through it.\n\nBest regards,\nNina"}),
    DemoActivity("email", "manager", "RE: Fabrikam: proposal for spare parts", "account:fabrikam", -9, 13, 0,
                 MAIL_RECEIVED, (("sender", "contact:fabrikam/0"), ("to", "user:manager")), False,
                 extra={"body_text": "Thanks Nina, we will review it with finance next week."}),
    DemoActivity("email", "sales", "Your Adventure Works Cycles order", "account:adventure_cycles", -5, 10, 0,
                 MAIL_SENT, (("sender", "user:sales"), ("to", "contact:adventure_cycles/0")), True,
                 extra={"body_text": "The order confirmation and delivery dates are below."}),
    DemoActivity("email", "sales", "Workstation configurations and prices", "lead:lucerne", -6, 11, 0,
                 MAIL_SENT, (("sender", "user:sales"), ("to", "lead:lucerne")), True,
                 extra={"body_text": "As promised, three configurations with prices for 50 seats."}),
    DemoActivity("email", "west", "Wine club partnership", "account:coho", -4, 8, 0, MAIL_RECEIVED,
                 (("sender", "contact:coho/0"), ("to", "user:west"), ("cc", "address:sommelier@cohowinery.com")),
                 False, extra={"body_text": "Could we add your corporate gifts to our wine club offer?"}),
    DemoActivity("email", "service", "Meter reading portal not loading", "account:cpandl", -2, 7, 0,
                 MAIL_RECEIVED, (("sender", "contact:cpandl/0"), ("to", "user:service")), False,
                 extra={"body_text": "Since this morning the portal shows an error 503 for all our staff."}),
    DemoActivity("email", "service", "RE: Meter reading portal not loading", "account:cpandl", 0, 9, 0,
                 MAIL_DRAFT, (("sender", "user:service"), ("to", "contact:cpandl/0")), True,
                 extra={"body_text": "We found the cause and a fix is on its way; draft, to be sent."}),
    # tasks
    DemoActivity("task", "sales", "Prepare the quote for Adventure Works Cycles", "account:adventure_cycles",
                 3, 12, 60, TASK_NOT_STARTED, extra={"percent_complete": 0, "category": "Quote", "priority_code": 2}),
    DemoActivity("task", "manager", "Review Fabrikam Europe contract terms", "account:fabrikam_eu", -15, 10, 90,
                 TASK_DONE, extra={"percent_complete": 100, "category": "Contract"}),
    DemoActivity("task", "manager", "Update the Northwind Traders account plan", "account:northwind", 10, 9, 120,
                 TASK_NOT_STARTED, description="Once we have their new org chart.", extra={"priority_code": 0}),
    DemoActivity("task", "west", "Send Coho Winery the revised price list", "account:coho", -2, 15, 20, TASK_DONE,
                 extra={"percent_complete": 100}),
    DemoActivity("task", "west", "Qualify Wide World Importers", "lead:wwi", 5, 16, 45, TASK_NOT_STARTED,
                 description="Budget, authority, need, timing.", extra={"priority_code": 2}),
    DemoActivity("task", "service", "Check Litware's support entitlements", "account:litware", 1, 13, 30,
                 TASK_NOT_STARTED),
    # appointments
    DemoActivity("appointment", "manager", "Fabrikam quarterly business review", "account:fabrikam", 6, 21, 90,
                 MEETING_BUSY, (("organizer", "user:manager"), ("required_attendee", "contact:fabrikam/0"),
                                ("required_attendee", "contact:fabrikam/1"), ("optional_attendee", "user:sales")),
                 extra={"location": "Fabrikam HQ, Seattle"}),
    DemoActivity("appointment", "sales", "Product demo at Proseware", "account:proseware", -12, 18, 60,
                 MEETING_DONE, (("organizer", "user:sales"), ("required_attendee", "contact:proseware/0"),
                                ("required_attendee", "contact:proseware/1")),
                 description="They liked the reporting; send references.", extra={"location": "Proseware, Boston"}),
    DemoActivity("appointment", "west", "Alpine Ski House site visit", "account:alpine", 9, 16, 120,
                 MEETING_BUSY, (("organizer", "user:west"), ("required_attendee", "contact:alpine/0"),
                                ("optional_attendee", "contact:alpine/1")),
                 extra={"location": "1701 Wynkoop St, Denver"}),
    DemoActivity("appointment", "west", "Tasting and contract signing", "account:coho", -25, 20, 60, MEETING_DONE,
                 (("organizer", "user:west"), ("required_attendee", "contact:coho/0")),
                 extra={"location": "Coho Winery"}),
    DemoActivity("appointment", "service", "Litware onboarding workshop", "account:litware", 14, 16, 180,
                 MEETING_BUSY, (("organizer", "user:service"), ("required_attendee", "contact:litware/0"),
                                ("required_attendee", "contact:litware/1"), ("optional_attendee", "user:admin")),
                 extra={"location": "Microsoft Teams"}),
    # a letter and a fax
    DemoActivity("letter", "manager", "Contract renewal notice", "account:fabrikam_eu", -8, 9, 0, LETTER_SENT,
                 (("sender", "user:manager"), ("to", "contact:fabrikam_eu/0")), True,
                 extra={"address": "Fabrikam Europe GmbH\nLeopoldstraße 12\n80802 München\nGermany"}),
    DemoActivity("fax", "service", "Signed service order", "account:cpandl", -18, 15, 0, FAX_RECEIVED,
                 (("sender", "contact:cpandl/1"), ("to", "user:service")), False,
                 extra={"fax_number": "+1 916 555 0125", "number_of_pages": 3}),
)
