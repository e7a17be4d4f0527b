"""Plausible people and companies for benchmark data: names, emails, phones, jobs and addresses.

Deterministic for a given random.Random, so two runs load the same data. No Faker: a few hundred names
across languages give the spread of lengths and characters (accents included) that real CRMs hold."""

import random
import unicodedata
from datetime import date, timedelta

FIRST_NAMES = (
    "Anna", "Lukas", "Sophie", "Maximilian", "Marie", "Paul", "Emma", "Jonas", "Léa", "Hugo", "Chloé", "Louis",
    "Camille", "Gabriel", "Inès", "Raphaël", "Olivia", "Liam", "Amelia", "Noah", "Isla", "Oliver", "Ava",
    "George", "Lucía", "Mateo", "Martina", "Hugo", "Valeria", "Pablo", "Giulia", "Lorenzo", "Francesca",
    "Leonardo", "Aurora", "Matteo", "Saanvi", "Arjun", "Priya", "Rohan", "Yuki", "Haruto", "Sakura", "Ren",
    "Wei", "Li", "Mei", "Jun", "Fatima", "Omar", "Aisha", "Youssef", "Zeynep", "Emir", "Elif", "Mehmet",
    "Olga", "Dmitri", "Katarzyna", "Piotr", "Zofia", "Jakub", "Eva", "Tomáš", "Ingrid", "Lars", "Astrid",
    "Erik", "Siobhán", "Seán", "Aoife", "Cian", "Björn", "Freya", "Joaquín", "Ana", "João", "Beatriz",
    "Nikos", "Eleni", "Kwame", "Ama", "Chidi", "Ngozi", "Thabo", "Lerato", "Daniel", "Sarah", "Michael",
    "Jessica", "David", "Emily", "James", "Hannah", "Christopher", "Laura", "Matthew", "Rachel", "Andrew",
)
LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Johnson", "Roberts",
    "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Rossi",
    "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Sharma", "Patel", "Singh",
    "Kumar", "Gupta", "Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Wang", "Zhang", "Chen", "Liu",
    "Yilmaz", "Kaya", "Demir", "Şahin", "Nowak", "Kowalski", "Wiśniewski", "Novák", "Svoboda", "Andersson",
    "Johansson", "Karlsson", "Nilsson", "Hansen", "Jensen", "Nielsen", "O'Brien", "Murphy", "Kelly",
    "Silva", "Santos", "Ferreira", "Papadopoulos", "Mensah", "Okafor", "Nkosi", "van der Berg", "de Vries",
    "Janssen", "Peeters", "Dupont", "Lambert", "Ivanova", "Smirnov", "Al-Sayed", "Haddad", "Cohen", "Levi",
)
JOB_TITLES = (
    "Purchasing Manager", "Head of Procurement", "Chief Financial Officer", "IT Director", "Office Manager",
    "Sales Director", "Marketing Manager", "Operations Manager", "Project Manager", "Buyer",
    "Facilities Coordinator", "Chief Executive Officer", "Head of Customer Service", "Account Executive",
    "Logistics Planner", "Financial Controller", "HR Business Partner", "Software Architect",
    "Product Owner", "Plant Manager", "Quality Engineer", "Legal Counsel", "Executive Assistant",
)
COMPANY_WORDS = (
    "Northwind", "Fabrikam", "Contoso", "Adventure", "Litware", "Tailspin", "Wingtip", "Proseware",
    "Woodgrove", "Alpine", "Coho", "Fourth Coffee", "Humongous", "Lucerne", "Margie's", "Trey", "Blue Yonder",
    "Graphic", "Wide World", "Southridge", "Consolidated", "Datum", "Relecloud", "Boreal", "Helvetia",
    "Baltic", "Iberia", "Nordlicht", "Sakura", "Meridian", "Sierra", "Atlas", "Vertex", "Orion", "Cobalt",
)
COMPANY_KINDS = (
    "Traders", "Industries", "Logistics", "Pharma", "Systems", "Foods", "Motors", "Energy", "Airlines",
    "Consulting", "Bank", "Insurance", "Retail", "Textiles", "Software", "Engineering", "Media", "Health",
)
COMPANY_SUFFIXES = ("Ltd", "GmbH", "SA", "SAS", "Inc.", "AG", "S.p.A.", "BV", "Oy", "AB", "plc", "")
TLDS = ("com", "de", "fr", "co.uk", "es", "it", "nl", "se", "ch", "io", "com.au", "co.jp")
CITIES = (
    ("Berlin", "10115", "Germany"), ("Munich", "80331", "Germany"), ("Hamburg", "20095", "Germany"),
    ("Paris", "75002", "France"), ("Lyon", "69002", "France"), ("London", "EC1A 1BB", "United Kingdom"),
    ("Manchester", "M1 1AE", "United Kingdom"), ("Madrid", "28013", "Spain"), ("Barcelona", "08002", "Spain"),
    ("Milan", "20121", "Italy"), ("Rome", "00184", "Italy"), ("Amsterdam", "1012 JS", "Netherlands"),
    ("Stockholm", "111 52", "Sweden"), ("Zürich", "8001", "Switzerland"), ("New York", "10001", "United States"),
    ("Chicago", "60601", "United States"), ("Toronto", "M5H 2N2", "Canada"), ("São Paulo", "01310-100", "Brazil"),
    ("Tokyo", "100-0005", "Japan"), ("Sydney", "2000", "Australia"), ("Singapore", "048583", "Singapore"),
    ("Mumbai", "400001", "India"), ("Istanbul", "34110", "Türkiye"), ("Warsaw", "00-001", "Poland"),
)
STREETS = (
    "High Street", "Hauptstraße", "Rue de la République", "Calle Mayor", "Via Roma", "Main Street",
    "Kongensgade", "Bahnhofstrasse", "Station Road", "Avenida Paulista", "Market Street", "Park Lane",
)
NOTES = (
    "Met at the trade fair; interested in the premium plan.", "Prefers phone calls in the morning.",
    "Decision maker for the renewal.", "Asked for a quote on 200 seats.", "Former customer, came back.",
    "Introduced by the regional partner.", "Needs invoices in EUR.",
)


def ascii_slug(text: str, sep: str = "") -> str:
    """`Müller-Lüdenscheidt` -> `mullerludenscheidt`: the part of an address a mail system would use."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return sep.join("".join(ch for ch in word if ch.isalnum()) for word in plain.split())


def company(rng: random.Random) -> tuple[str, str]:
    """A company name and its mail domain."""
    base = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
    suffix = rng.choice(COMPANY_SUFFIXES)
    return (f"{base} {suffix}".strip(), f"{ascii_slug(base, '-')}.{rng.choice(TLDS)}")


def person_email(rng: random.Random, first: str, last: str, domain: str) -> str:
    f, la = ascii_slug(first), ascii_slug(last)
    pattern = rng.random()
    if pattern < 0.6:
        local = f"{f}.{la}"
    elif pattern < 0.8:
        local = f"{f[0]}{la}"
    elif pattern < 0.9:
        local = f"{f}_{la}{rng.randint(1, 99)}"
    else:
        local = f"{la}.{f}"
    return f"{local}@{domain}"


def phone(rng: random.Random) -> str:
    return f"+{rng.choice((33, 44, 49, 34, 39, 31, 46, 41, 1, 81, 61, 91))} " \
           f"{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def birth_date(rng: random.Random) -> date:
    return date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 50))


def street_address(rng: random.Random) -> dict[str, str | int | None]:
    city, postal_code, country = rng.choice(CITIES)
    return {
        "address_type_code": rng.choice((1, 2, 3, 4)),
        "line1": f"{rng.randint(1, 250)} {rng.choice(STREETS)}",
        "line2": f"Floor {rng.randint(1, 12)}" if rng.random() < 0.3 else None,
        "city": city, "postal_code": postal_code, "country": country,
    }
