"""Demo data: the company "Acme" running its yearly learning program, so one command
shows the whole app (`python manage.py seed_demo`).

Everything that is not a date of the current program comes from `random.Random(seed)`,
so the same seed gives the same people, organizations, appointments and completions.
Dates of the current program are laid out relative to today (in the company time zone).

Completion history is produced as Coursera-shaped raw records (PROVIDERS.md section 1)
by `demo_activity_records`, but seed_demo writes no enrollments: it creates the
"Coursera (demo)" connection pointing at the local Coursera sandbox
(`manage.py run_sandbox_provider --org-id acme-demo --seed <seed>`), which serves
`demo_sandbox_records` (exactly `demo_seeded_records` plus a few contractors who are
not on the roster and a few malformed records), and the real sync pipeline
(`manage.py sync_provider "Coursera (demo)"`) writes the enrollments over HTTP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import string
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from champions.models import (
    Attendance,
    ExecutiveSponsor,
    LearnerStory,
    LearningChampion,
    ProgressUpdate,
    StudyGroup,
    StudyGroupMembership,
    StudySession,
)
from learnhub.roles import ld_admin_grant
from programs.models import (
    PATH_SEPARATOR,
    ApprovalStatus,
    Collection,
    CollectionItem,
    Course,
    Employee,
    LearningProgram,
    Organization,
    ProgramStatus,
    Provider,
    ProviderConnection,
)
from programs.organizations import organization_create
from programs.sandbox import API_PREFIX, TOKEN_PATH, SandboxData

DEMO_PASSWORD = "learnhub-demo"  # noqa: S105  # printed on purpose: demo accounts only
DEMO_DOMAIN = "acme.example"
DEMO_CONNECTION_NAME = "Coursera (demo)"
DEMO_URL = "http://127.0.0.1:8000/"
DEMO_ORG_ID = "acme-demo"  # the demo's Coursera business id, also how the sandbox recognises the demo
DEMO_CLIENT_ID = "demo"  # the sandbox's default client credentials (programs/sandbox.py)
DEMO_CLIENT_SECRET = "demo"  # noqa: S105  # the local sandbox's demo secret, not a real one
DEFAULT_SANDBOX_PORT = 8765
DEFAULT_SEED = 42
DEFAULT_EMPLOYEES = 420
MIN_EMPLOYEES = 60
BATCH_SIZE = 500
LAST_YEAR_RATE_FACTOR = 0.3  # last year's program never passed about 25%
NEW_HIRE_SHARE = 0.06  # hired during this year's program
LEAVER_SHARE = 0.03  # left during this year's program
CURATED_PICK_SHARE = 0.62  # "more than half of all completions from curated collections"


class DemoDataExistsError(Exception):
    """The database already holds people who are not the demo's: seed_demo will not mix."""


# --- The company ------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoOrg:
    path: str
    weight: int  # share of the employees whose home organization this is
    rate: float  # share of eligible people who meet the goal by year end
    lead_title: str
    titles: tuple[str, ...]


ENGINEERING_TITLES = ("Software Engineer", "Senior Software Engineer", "Staff Engineer", "QA Engineer")
DEMO_ORGS: tuple[DemoOrg, ...] = (
    DemoOrg("Acme", 2, 0.70, "Chief of Staff", ("Executive Assistant", "Strategy Analyst")),
    DemoOrg(
        "Acme/Engineering", 3, 0.80, "Director of Engineering", ("Principal Engineer", "Technical Program Manager")
    ),
    DemoOrg(
        "Acme/Engineering/Platform",
        70,
        0.86,
        "Engineering Manager, Platform",
        (*ENGINEERING_TITLES, "Site Reliability Engineer", "Security Engineer"),
    ),
    DemoOrg(
        "Acme/Engineering/Product",
        75,
        0.78,
        "Engineering Manager, Product",
        (*ENGINEERING_TITLES, "Product Manager", "Product Designer"),
    ),
    DemoOrg(
        "Acme/Engineering/Data",
        45,
        0.82,
        "Head of Data",
        ("Data Scientist", "Data Engineer", "Analytics Engineer", "Machine Learning Engineer"),
    ),
    DemoOrg("Acme/Sales", 3, 0.45, "Sales Operations Director", ("Sales Operations Analyst", "Deal Desk Analyst")),
    DemoOrg(
        "Acme/Sales/Enterprise",
        40,
        0.42,
        "Enterprise Sales Manager",
        ("Enterprise Account Executive", "Solutions Engineer", "Account Manager"),
    ),
    DemoOrg(
        "Acme/Sales/Commercial",
        45,
        0.30,
        "Commercial Sales Manager",
        ("Account Executive", "Sales Development Representative", "Inside Sales Representative"),
    ),
    DemoOrg(
        "Acme/Marketing",
        45,
        0.68,
        "Marketing Manager",
        ("Product Marketing Manager", "Content Strategist", "Growth Marketer", "Marketing Analyst", "Brand Designer"),
    ),
    DemoOrg(
        "Acme/Customer Success",
        55,
        0.55,
        "Customer Success Director",
        ("Customer Success Manager", "Support Engineer", "Implementation Consultant", "Technical Account Manager"),
    ),
    DemoOrg(
        "Acme/People & Operations",
        30,
        0.32,
        "Operations Manager",
        ("Recruiter", "HR Business Partner", "Financial Analyst", "Accountant", "Office Manager", "IT Specialist"),
    ),
)
ROOT_PATH = "Acme"
TOP_LEVEL_PATHS = tuple(o.path for o in DEMO_ORGS if o.path.count(PATH_SEPARATOR) == 1)


@dataclass(frozen=True)
class DemoPerson:
    """A person with a fixed name and role: the executives and the demo logins."""

    full_name: str
    title: str
    org_path: str
    login_role: str = ""  # "L&D admin", "executive sponsor", ... for the printed logins

    @property
    def email(self) -> str:
        return _email_for(self.full_name)


CEO = DemoPerson("Alex Morgan", "Chief Executive Officer", "Acme")
EXECUTIVES: dict[str, DemoPerson] = {
    "Acme/Engineering": DemoPerson("Priya Raman", "VP Engineering", "Acme/Engineering", "executive sponsor"),
    "Acme/Sales": DemoPerson("Marcus Webb", "VP Sales", "Acme/Sales"),
    "Acme/Marketing": DemoPerson("Sofia Rossi", "VP Marketing", "Acme/Marketing"),
    "Acme/Customer Success": DemoPerson("Hannah Okafor", "VP Customer Success", "Acme/Customer Success"),
    "Acme/People & Operations": DemoPerson("Daniel Kim", "VP People & Operations", "Acme/People & Operations"),
}
LD_ADMIN = DemoPerson("Morgan Lee", "Head of Learning & Development", "Acme/People & Operations", "L&D admin")
DEMO_CHAMPION = DemoPerson(
    "Diego Alvarez", "Senior Software Engineer", "Acme/Engineering/Platform", "learning champion"
)
DEMO_EMPLOYEE = DemoPerson("Jamie Chen", "Software Engineer", "Acme/Engineering/Product", "employee")
FIXED_PEOPLE = (CEO, *EXECUTIVES.values(), LD_ADMIN, DEMO_CHAMPION, DEMO_EMPLOYEE)
DEMO_LOGINS = (LD_ADMIN, EXECUTIVES["Acme/Engineering"], DEMO_CHAMPION, DEMO_EMPLOYEE)
# Executive commitment: some sponsors completed a course this year, some not yet.
SPONSOR_MEETS_GOAL = {
    "Acme/Engineering": True,
    "Acme/Sales": False,
    "Acme/Marketing": True,
    "Acme/Customer Success": False,
    "Acme/People & Operations": True,
}
CHAMPIONS_PER_ORG = {
    "Acme/Engineering": 2,
    "Acme/Sales": 2,
    "Acme/Marketing": 1,
    "Acme/Customer Success": 2,
    "Acme/People & Operations": 1,
}

FIRST_NAMES = (  # noqa: SIM905  # one readable block of names
    "Aaliyah Aaron Abigail Adam Adrian Aisha Alan Alejandro Alice Amara Amelia Ana Andre Andrew Anika Anna Arjun "
    "Ava Ben Bianca Brandon Caleb Camila Carlos Carmen Charlotte Chen Chloe Christopher Clara Connor Daniela David "
    "Deepa Dmitri Elena Eli Elijah Emily Emma Ethan Fatima Felix Fiona Gabriel Grace Hana Harper Hiro Ian Imani "
    "Isabel Isaac Jack Jasmine Javier Jin Jonah Jordan Julia Kai Kaitlyn Kenji Kofi Laila Lars Leah Leo Liam Lina "
    "Lucas Luis Maya Mei Mia Miguel Mohammed Nadia Naomi Nathan Nia Nina Noah Olivia Omar Oscar Paul Priyanka "
    "Rafael Rania Ravi Rebecca Ryan Sahil Samira Sara Sebastian Sienna Sofia Tariq Theo Tomas Uma Valentina "
    "Victor Wei William Yara Yusuf Zara Zoe"
).split()
LAST_NAMES = (  # noqa: SIM905
    "Abbott Adeyemi Agarwal Alvarez Andersen Baker Banerjee Becker Bennett Brooks Campbell Castillo Chang Chavez "
    "Cohen Costa Cruz Das Diaz Dubois Edwards Evans Fernandez Fischer Flores Foster Garcia Goldberg Gomez Gupta "
    "Hansen Harris Hayes Hernandez Hoffman Hughes Ibrahim Ito Jackson Jensen Johansson Johnson Kaur Kelly Khan "
    "Kowalski Kumar Larsen Lopez Martin Mendoza Meyer Mitchell Moreno Murphy Nakamura Nguyen Nielsen Novak "
    "Obi Olsen Ortiz Park Patel Perez Petrov Phillips Ramirez Reyes Richter Rivera Roberts Rodriguez Romero "
    "Russo Sanchez Santos Schmidt Shah Silva Singh Sullivan Suzuki Tanaka Taylor Thompson Torres Tran Turner "
    "Vargas Walker Wang Watanabe Weber Williams Wong Yamamoto Young Zhang"
).split()


# --- The catalog --------------------------------------------------------------------------

# (slug, title, partner, approximate hours)
DEMO_COURSES: tuple[tuple[str, str, str, int], ...] = (
    (
        "machine-learning",
        "Supervised Machine Learning: Regression and Classification",
        "DeepLearning.AI",
        33,
    ),
    ("neural-networks-deep-learning", "Neural Networks and Deep Learning", "DeepLearning.AI", 24),
    ("python", "Programming for Everybody (Getting Started with Python)", "University of Michigan", 19),
    ("python-data", "Python Data Structures", "University of Michigan", 19),
    ("sql-for-data-science", "SQL for Data Science", "University of California, Davis", 14),
    ("data-analysis-with-python", "Data Analysis with Python", "IBM", 15),
    ("what-is-datascience", "What is Data Science?", "IBM", 11),
    ("gcp-fundamentals", "Google Cloud Fundamentals: Core Infrastructure", "Google Cloud", 8),
    ("aws-cloud-technical-essentials", "AWS Cloud Technical Essentials", "Amazon Web Services", 12),
    (
        "introduction-to-containers-w-docker-kubernetes-openshift",
        "Introduction to Containers w/ Docker, Kubernetes & OpenShift",
        "IBM",
        12,
    ),
    ("devops-culture-and-mindset", "DevOps Culture and Mindset", "University of California, Davis", 13),
    ("software-architecture", "Software Architecture", "University of Alberta", 17),
    ("algorithms-part1", "Algorithms, Part I", "Princeton University", 54),
    ("foundations-of-cybersecurity", "Foundations of Cybersecurity", "Google", 14),
    ("agile-atlassian-jira", "Agile with Atlassian Jira", "Atlassian", 12),
    ("uva-darden-design-thinking-innovation", "Design Thinking for Innovation", "University of Virginia", 10),
    ("foundations-user-experience-design", "Foundations of User Experience (UX) Design", "Google", 18),
    ("uva-darden-digital-product-management", "Digital Product Management", "University of Virginia", 9),
    ("project-management-foundations", "Foundations of Project Management", "Google", 18),
    ("learning-how-to-learn", "Learning How to Learn", "Deep Teaching Solutions", 15),
    ("negotiation-skills", "Successful Negotiation: Essential Strategies and Skills", "University of Michigan", 21),
    ("wharton-marketing", "Introduction to Marketing", "University of Pennsylvania", 10),
    (
        "foundations-of-digital-marketing-and-e-commerce",
        "Foundations of Digital Marketing and E-commerce",
        "Google",
        26,
    ),
    ("introduction-to-social-media-marketing", "Introduction to Social Media Marketing", "Meta", 22),
    ("salesforce-sales-operations", "Salesforce Sales Operations", "Salesforce", 24),
    ("customer-success-management", "Customer Success Management Fundamentals", "Starweaver", 6),
    ("datavisualization", "Data Visualization and Communication with Tableau", "Duke University", 25),
    ("excel-basics-data-analysis-ibm", "Excel Basics for Data Analysis", "IBM", 12),
    ("financial-markets-global", "Financial Markets", "Yale University", 33),
    ("wharton-accounting", "Introduction to Financial Accounting", "University of Pennsylvania", 26),
    ("leading-teams", "Leading Teams: Developing as a Leader", "University of Illinois Urbana-Champaign", 13),
    (
        "work-smarter-not-harder",
        "Work Smarter, Not Harder: Time Management for Personal & Professional Productivity",
        "University of California, Irvine",
        14,
    ),
    ("emotional-intelligence", "Emotional Intelligence", "Arizona State University", 9),
    (
        "recruiting-hiring-onboarding-employees",
        "Recruiting, Hiring, and Onboarding Employees",
        "University of Minnesota",
        9,
    ),
    ("diversity-inclusion-workplace", "Diversity and Inclusion in the Workplace", "ESSEC Business School", 14),
    ("prompt-engineering", "Prompt Engineering for ChatGPT", "Vanderbilt University", 18),
    ("ai-for-everyone", "AI For Everyone", "DeepLearning.AI", 6),
    ("generative-ai-for-everyone", "Generative AI for Everyone", "DeepLearning.AI", 5),
    (
        "hands-on-introduction-to-linux-commands-and-shell-scripting",
        "Hands-on Introduction to Linux Commands and Shell Scripting",
        "IBM",
        13,
    ),
    ("introduction-git-github", "Introduction to Git and GitHub", "Google", 18),
    ("wharton-communication-skills", "Improving Communication Skills", "University of Pennsylvania", 5),
    ("wharton-operations", "Introduction to Operations Management", "University of Pennsylvania", 10),
)

COMPANY_COLLECTION = (
    "Company essentials",
    "Skills every Acme employee needs this year: working with AI, learning well and communicating clearly.",
    (
        "ai-for-everyone",
        "generative-ai-for-everyone",
        "learning-how-to-learn",
        "work-smarter-not-harder",
        "wharton-communication-skills",
        "diversity-inclusion-workplace",
    ),
)
# organization path -> (collection name, needs, course slugs, approval status)
ORG_COLLECTIONS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "Acme/Engineering": (
        "Engineering foundations",
        "Near term: ship safely with fewer incidents. Long term: design systems that scale with the business.",
        (
            "software-architecture",
            "devops-culture-and-mindset",
            "introduction-git-github",
            "algorithms-part1",
            "foundations-of-cybersecurity",
            "prompt-engineering",
        ),
        ApprovalStatus.APPROVED,
    ),
    "Acme/Engineering/Platform": (
        "Cloud and reliability",
        "Move the last services to the cloud this year; on-call engineers who understand containers and Linux.",
        (
            "aws-cloud-technical-essentials",
            "gcp-fundamentals",
            "introduction-to-containers-w-docker-kubernetes-openshift",
            "hands-on-introduction-to-linux-commands-and-shell-scripting",
            "devops-culture-and-mindset",
            "foundations-of-cybersecurity",
        ),
        ApprovalStatus.APPROVED,
    ),
    "Acme/Engineering/Product": (
        "Building the right product",
        "Product teams that test ideas with users before building them, and plan in short iterations.",
        (
            "uva-darden-digital-product-management",
            "foundations-user-experience-design",
            "uva-darden-design-thinking-innovation",
            "agile-atlassian-jira",
            "software-architecture",
        ),
        ApprovalStatus.APPROVED,
    ),
    "Acme/Engineering/Data": (
        "Machine learning in production",
        "Near term: trustworthy dashboards. Long term: the recommendation models on the roadmap.",
        (
            "machine-learning",
            "neural-networks-deep-learning",
            "sql-for-data-science",
            "data-analysis-with-python",
            "datavisualization",
            "python-data",
            "what-is-datascience",
        ),
        ApprovalStatus.APPROVED,
    ),
    "Acme/Sales": (
        "Selling with insight",
        "Larger deals need sharper negotiation and better use of our CRM data.",
        (
            "negotiation-skills",
            "salesforce-sales-operations",
            "wharton-communication-skills",
            "ai-for-everyone",
            "excel-basics-data-analysis-ibm",
        ),
        ApprovalStatus.PENDING,
    ),
    "Acme/Sales/Enterprise": (
        "Enterprise deal craft",
        "Multi-year enterprise contracts: negotiation, finance literacy and account leadership.",
        (
            "negotiation-skills",
            "salesforce-sales-operations",
            "wharton-marketing",
            "financial-markets-global",
            "leading-teams",
        ),
        ApprovalStatus.APPROVED,
    ),
    "Acme/Sales/Commercial": (
        "Commercial sales toolkit",
        "A faster pipeline: prospecting, time management and working the numbers.",
        (
            "salesforce-sales-operations",
            "negotiation-skills",
            "excel-basics-data-analysis-ibm",
            "introduction-to-social-media-marketing",
            "work-smarter-not-harder",
        ),
        ApprovalStatus.CHANGES_REQUESTED,
    ),
    "Acme/Marketing": (
        "Modern marketing",
        "Shift budget to digital channels and measure every campaign; use generative AI responsibly.",
        (
            "wharton-marketing",
            "foundations-of-digital-marketing-and-e-commerce",
            "introduction-to-social-media-marketing",
            "datavisualization",
            "prompt-engineering",
            "generative-ai-for-everyone",
            "uva-darden-design-thinking-innovation",
        ),
        ApprovalStatus.APPROVED,
    ),
    "Acme/Customer Success": (
        "Customer outcomes",
        "Renewals depend on proactive success management and clear, empathetic communication.",
        (
            "customer-success-management",
            "emotional-intelligence",
            "wharton-communication-skills",
            "excel-basics-data-analysis-ibm",
            "agile-atlassian-jira",
        ),
        ApprovalStatus.APPROVED,
    ),
    "Acme/People & Operations": (
        "Running a growing company",
        "Hiring 150 people this year and closing the books faster: recruiting, finance and operations.",
        (
            "recruiting-hiring-onboarding-employees",
            "diversity-inclusion-workplace",
            "wharton-accounting",
            "excel-basics-data-analysis-ibm",
            "leading-teams",
            "wharton-operations",
            "project-management-foundations",
        ),
        ApprovalStatus.DRAFT,
    ),
}

STORIES = (
    ("Cut our deploy time in half", "After the DevOps course I rewrote our release checklist as a pipeline."),
    ("A better first call", "The negotiation course changed how I open discovery calls with new customers."),
    ("From spreadsheets to SQL", "I now answer my own questions about usage data instead of waiting a week."),
    ("Our first design sprint", "We ran a design-thinking sprint with three customers before building anything."),
    ("Explaining AI to my team", "AI For Everyone gave me words to explain what our models can and cannot do."),
    ("Fewer escalations", "The emotional intelligence course helped me de-escalate a tense renewal."),
    ("Closing faster", "Learning basic accounting helped me spot the reconciliation step we could automate."),
    ("Containers, finally", "I moved my team's batch jobs into containers the week after the course."),
)


# --- Small helpers --------------------------------------------------------------------------


def _email_for(full_name: str, n: int = 1) -> str:
    local = ".".join(full_name.lower().replace("'", "").split())
    return f"{local}{n if n > 1 else ''}@{DEMO_DOMAIN}"


def coursera_id(text: str) -> str:
    """A stable 8-character id shaped like Coursera's (e.g. "r0GnHOZa") for `text`."""
    alphabet = string.ascii_letters + string.digits
    number = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    chars = []
    for _ in range(8):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def _epoch_ms(moment: dt.datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _moment(day: dt.date, rng: random.Random) -> dt.datetime:
    """A working-hours time on `day` in the company time zone."""
    tz = timezone.get_default_timezone()
    return dt.datetime.combine(day, dt.time(rng.randint(8, 19), rng.randint(0, 59)), tzinfo=tz)


def _day_at(first: dt.date, last: dt.date, fraction: float) -> dt.date:
    """The day `fraction` (0..1) of the way from `first` to `last`."""
    return first + dt.timedelta(days=round(max((last - first).days, 0) * fraction))


def _day_between(first: dt.date, last: dt.date, rng: random.Random, *, late_bias: float = 1.0) -> dt.date:
    """A day in [first, last]; late_bias < 1 favours later days (a rising trend)."""
    return _day_at(first, last, rng.random() ** late_bias)


def _program_ref(program: LearningProgram) -> str:
    return coursera_id(f"program:{program.name}")


def _slug(course: Course) -> str:
    return course.url.rstrip("/").rsplit("/", 1)[-1]


# --- Building the data ---------------------------------------------------------------------


@dataclass
class DemoResult:
    seed: int
    employees: int = 0
    organizations: int = 0
    courses: int = 0
    collections: int = 0
    records: int = 0  # what the sandbox serves for the demo's roster (the sync writes them)
    completions: int = 0
    already_loaded: bool = False
    connection_moved: bool = False  # an existing demo's connection now points at another sandbox port
    logins: list[tuple[str, str]] = field(default_factory=list)  # (role, e-mail)


def demo_is_loaded() -> bool:
    return ProviderConnection.objects.filter(name=DEMO_CONNECTION_NAME).exists()


def demo_logins() -> list[tuple[str, str]]:
    return [(p.login_role, p.email) for p in DEMO_LOGINS]


def demo_organizations_create() -> dict[str, Organization]:
    """The company tree: Acme, five organizations below it, and teams below two of them."""
    orgs: dict[str, Organization] = {}
    for demo_org in DEMO_ORGS:
        parent_path, _, name = demo_org.path.rpartition(PATH_SEPARATOR)
        orgs[demo_org.path] = organization_create(name=name, parent=orgs.get(parent_path))
    return orgs


def demo_courses_create() -> list[Course]:
    """The Coursera catalog: about forty courses, ids stable across seeds."""
    Course.objects.bulk_create(
        [
            Course(
                provider=Provider.COURSERA,
                provider_course_id=coursera_id(slug),
                title=title,
                partner=partner,
                url=f"https://www.coursera.org/learn/{slug}",
                hours=Decimal(hours),
            )
            for slug, title, partner, hours in DEMO_COURSES
        ]
    )
    return list(Course.objects.filter(provider=Provider.COURSERA).order_by("provider_course_id"))


def _unique_name(rng: random.Random, used: set[str]) -> tuple[str, str]:
    while True:
        full_name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        n = 1
        while _email_for(full_name, n) in used:
            n += 1
        if n <= 2:  # a few namesakes, never many
            email = _email_for(full_name, n)
            used.add(email)
            return full_name, email


def demo_employees_create(
    *, orgs: dict[str, Organization], count: int, rng: random.Random, today: dt.date
) -> list[Employee]:
    """About `count` people spread over the organizations by weight, each organization led
    by one person who reports to the lead above; a few hired this year, a few departed."""
    year_start = dt.date(today.year, 1, 1)
    hashed_demo_password = make_password(DEMO_PASSWORD)  # hashed once: a few seconds matter
    used = {p.email for p in FIXED_PEOPLE}
    rows: list[dict[str, Any]] = []

    def add(person: DemoPerson | None, org_path: str, title: str, *, lead: bool = False) -> None:
        full_name, email = (person.full_name, person.email) if person else _unique_name(rng, used)
        rows.append({"full_name": full_name, "email": email, "org": org_path, "title": title, "lead": lead})

    add(CEO, ROOT_PATH, CEO.title, lead=True)
    for demo_org in DEMO_ORGS[1:]:
        executive = EXECUTIVES.get(demo_org.path)
        add(executive, demo_org.path, executive.title if executive else demo_org.lead_title, lead=True)
    for person in (LD_ADMIN, DEMO_CHAMPION, DEMO_EMPLOYEE):
        add(person, person.org_path, person.title)
    total_weight = sum(o.weight for o in DEMO_ORGS)
    remaining = max(count, MIN_EMPLOYEES) - len(rows)
    shares = [remaining * o.weight // total_weight for o in DEMO_ORGS]
    shares[0] += remaining - sum(shares)  # rounding leftovers join the company level
    for demo_org, share in zip(DEMO_ORGS, shares, strict=True):
        for _ in range(share):
            add(None, demo_org.path, rng.choice(demo_org.titles))

    employees: list[Employee] = []
    mid_year_window = (year_start + dt.timedelta(days=31), today - dt.timedelta(days=14))
    departure_window = (year_start, today - dt.timedelta(days=2))
    fixed_emails = {p.email for p in FIXED_PEOPLE}
    for index, row in enumerate(rows):
        # Always draw the same numbers, whatever today is, so the seed alone decides who
        # is a new hire or a leaver; today only decides the dates.
        roll, hire_fraction, departure_fraction = rng.random(), rng.random(), rng.random()
        hired_on = dt.date(today.year - 1 - rng.randint(0, 11), rng.randint(1, 12), rng.randint(1, 28))
        fixed = row["email"] in fixed_emails
        if not fixed and roll < NEW_HIRE_SHARE and mid_year_window[0] < mid_year_window[1]:
            hired_on = _day_at(*mid_year_window, hire_fraction)
        departed_on = None
        leaver = NEW_HIRE_SHARE <= roll < NEW_HIRE_SHARE + LEAVER_SHARE
        if not fixed and not row["lead"] and leaver and departure_window[0] < departure_window[1]:
            departed_on = max(hired_on, _day_at(*departure_window, departure_fraction))
        is_demo_login = row["email"] in {p.email for p in DEMO_LOGINS}
        employees.append(
            Employee(
                email=row["email"],
                full_name=row["full_name"],
                title=row["title"],
                external_id=f"ACM{10001 + index:05d}",
                organization=orgs[row["org"]],
                hired_on=hired_on,
                departed_on=departed_on,
                is_active=departed_on is None,
                password=hashed_demo_password if is_demo_login else make_password(None),
            )
        )
    Employee.objects.bulk_create(employees, batch_size=BATCH_SIZE)
    by_email = {e.email: e for e in Employee.objects.filter(email__in=[r["email"] for r in rows])}

    leads = {row["org"]: by_email[row["email"]] for row in rows if row["lead"]}
    for row in rows:
        employee = by_email[row["email"]]
        org_path = row["org"]
        if row["lead"]:
            parent_path = org_path.rpartition(PATH_SEPARATOR)[0]
            employee.manager = leads.get(parent_path)
        else:
            employee.manager = leads[org_path]
    Employee.objects.bulk_update(by_email.values(), ["manager"], batch_size=BATCH_SIZE)

    for person in DEMO_LOGINS:
        EmailAddress.objects.update_or_create(
            email=person.email, defaults={"user": by_email[person.email], "verified": True, "primary": True}
        )
    ld_admin_grant(employee=by_email[LD_ADMIN.email])
    return [by_email[row["email"]] for row in rows]


def demo_programs_create(*, today: dt.date) -> tuple[LearningProgram, LearningProgram]:
    """Last year's program (closed) and this year's (active, 90%, one course each),
    cloned from it."""
    last = LearningProgram.objects.create(
        name=f"Learning Program {today.year - 1}",
        starts_on=dt.date(today.year - 1, 1, 1),
        ends_on=dt.date(today.year - 1, 12, 31),
        target_rate=Decimal("0.900"),
        required_completions=1,
        status=ProgramStatus.CLOSED,
    )
    current = LearningProgram.objects.create(
        name=f"Learning Program {today.year}",
        starts_on=dt.date(today.year, 1, 1),
        ends_on=dt.date(today.year, 12, 31),
        target_rate=Decimal("0.900"),
        required_completions=1,
        status=ProgramStatus.ACTIVE,
        cloned_from=last,
    )
    return last, current


def demo_appointments_create(
    *, program: LearningProgram, orgs: dict[str, Organization], employees: list[Employee], rng: random.Random
) -> tuple[dict[str, Employee], dict[str, list[Employee]]]:
    """A sponsor (the executive) for each top-level organization and one or two
    champions from its people."""
    by_email = {e.email: e for e in employees}
    sponsors = {path: by_email[person.email] for path, person in EXECUTIVES.items()}
    ExecutiveSponsor.objects.bulk_create(
        [
            ExecutiveSponsor(
                program=program,
                organization=orgs[path],
                employee=sponsor,
                launch_video_url=f"https://videos.{DEMO_DOMAIN}/learning-{program.starts_on.year}/"
                f"{orgs[path].name.lower().replace(' & ', '-').replace(' ', '-')}",
            )
            for path, sponsor in sponsors.items()
        ]
    )
    champions: dict[str, list[Employee]] = {}
    taken = {e.pk for e in sponsors.values()} | {by_email[LD_ADMIN.email].pk}
    for path in TOP_LEVEL_PATHS:
        candidates = [
            e
            for e in employees
            if e.pk not in taken
            and e.departed_on is None
            and e.organization is not None
            and (e.organization.path == path or e.organization.path.startswith(path + PATH_SEPARATOR))
        ]
        chosen = [by_email[DEMO_CHAMPION.email]] if path == "Acme/Engineering" else []
        candidates = [e for e in candidates if e not in chosen]
        chosen += rng.sample(candidates, CHAMPIONS_PER_ORG[path] - len(chosen))
        taken |= {e.pk for e in chosen}
        champions[path] = chosen
    LearningChampion.objects.bulk_create(
        [
            LearningChampion(program=program, organization=orgs[path], employee=champion)
            for path, chosen in champions.items()
            for champion in chosen
        ]
    )
    return sponsors, champions


def demo_collections_create(
    *,
    program: LearningProgram,
    orgs: dict[str, Organization],
    sponsors: dict[str, Employee],
    courses: list[Course],
    rng: random.Random,
) -> list[Collection]:
    """One curated collection per organization below the company (5-8 courses, the needs
    it answers, a launch video) plus one company-wide collection."""
    course_by_slug = {_slug(c): c for c in courses}
    year = program.starts_on.year
    now = timezone.now()
    specs = [(None, *COMPANY_COLLECTION, ApprovalStatus.APPROVED)] + [
        (path, *spec) for path, spec in ORG_COLLECTIONS.items()
    ]
    collections = []
    for path, name, needs, _slugs, status in specs:
        top_path = PATH_SEPARATOR.join(path.split(PATH_SEPARATOR)[:2]) if path else None
        approver = sponsors.get(top_path) if top_path else None
        collections.append(
            Collection(
                program=program,
                organization=orgs[path] if path else None,
                name=f"{name} {year}",
                needs=needs,
                launch_video_url=f"https://videos.{DEMO_DOMAIN}/learning-{year}/collection-{coursera_id(name)}",
                approval_status=status,
                approval_note="Please add a course on forecasting."
                if status == ApprovalStatus.CHANGES_REQUESTED
                else "",
                approved_by=approver if status == ApprovalStatus.APPROVED else None,
                approved_at=now - dt.timedelta(days=rng.randint(200, 300))
                if status == ApprovalStatus.APPROVED
                else None,
            )
        )
    Collection.objects.bulk_create(collections)
    collections = list(Collection.objects.filter(program=program).select_related("organization"))
    by_name = {c.name: c for c in collections}
    items = [
        CollectionItem(collection=by_name[f"{name} {year}"], course=course_by_slug[slug], position=position)
        for _, name, _, slugs, _ in specs
        for position, slug in enumerate(slugs, start=1)
    ]
    CollectionItem.objects.bulk_create(items)
    return collections


def _curated_courses_by_org(program: LearningProgram) -> dict[int | None, list[tuple[Course, Collection]]]:
    result: dict[int | None, list[tuple[Course, Collection]]] = {}
    items = CollectionItem.objects.filter(collection__program=program).select_related("course", "collection")
    for item in items.order_by("collection__name", "position"):
        result.setdefault(item.collection.organization_id, []).append((item.course, item.collection))
    return result


def demo_activity_records(
    *,
    program: LearningProgram,
    rng: random.Random,
    as_of: dt.date,
    taken: set[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Coursera enrollment-report records (PROVIDERS.md section 1: externalId, email,
    contentId, contentType "Course", isCompleted, completedAt / enrolledAt in epoch ms,
    overallProgress, ...) for the roster in `program` up to `as_of`.

    Each organization meets the goal at its own rate (from about 30% to about 85% by year
    end; a closed earlier program at a third of that), completion dates lean towards the
    later part of the window (a rising trend), about 60% of completions come from
    the curated collections of the person's organization chain and the company, sponsors
    meet the goal or not as SPONSOR_MEETS_GOAL says, and some people have courses in
    progress. `taken` holds (e-mail, content id) pairs already used; they are skipped and
    the new ones added, so one learner x course appears once across programs.
    """
    taken = set() if taken is None else taken
    first_day = program.starts_on
    last_day = min(as_of, program.ends_on)
    if program.ends_on >= as_of:
        last_day = as_of - dt.timedelta(days=1)  # nothing completed later today than now
    if last_day < first_day:
        return []
    elapsed = ((last_day - first_day).days + 1) / ((program.ends_on - program.starts_on).days + 1)
    rate_factor = LAST_YEAR_RATE_FACTOR if program.status == ProgramStatus.CLOSED else min(1.0, elapsed / 0.9)
    rates = {o.path: o.rate for o in DEMO_ORGS}
    catalog = list(Course.objects.filter(provider=Provider.COURSERA).order_by("provider_course_id"))
    curated = _curated_courses_by_org(program)
    curated_ids = {course.pk for pairs in curated.values() for course, _ in pairs}
    uncurated = [c for c in catalog if c.pk not in curated_ids] or catalog
    org_ids: dict[str, int | None] = dict(Organization.objects.values_list("path", "pk"))
    sponsor_orgs = dict(
        ExecutiveSponsor.objects.filter(program=program).values_list("employee_id", "organization__path")
    )
    program_ref = _program_ref(program)
    people = Employee.objects.filter(organization__isnull=False).select_related("organization").order_by("email")
    updated_at = _epoch_ms(_moment(last_day, rng))
    records: list[dict[str, Any]] = []

    def record(person: Employee, course: Course, collection: Collection | None, completed_on: dt.date | None) -> None:
        learner = person.external_id or person.email
        if (person.email, course.provider_course_id) in taken:
            return
        taken.add((person.email, course.provider_course_id))
        start = max(first_day, person.hired_on or first_day)
        enrolled_day = _day_between(start, completed_on or last_day, rng, late_bias=0.8)
        if completed_on is not None:
            enrolled_day = max(start, completed_on - dt.timedelta(days=rng.randint(7, 60)))
        enrolled_at = _moment(enrolled_day, rng)
        completed_at = _moment(completed_on, rng) if completed_on else None
        if completed_at is not None and completed_at <= enrolled_at:
            completed_at = enrolled_at + dt.timedelta(hours=2)
        progress = 100 if completed_at else rng.choice([5, 12, 20, 33, 41, 50, 64, 75, 88])
        records.append(
            {
                "id": f"{learner}~{course.provider_course_id}~{program_ref}",
                "externalId": learner,
                "email": person.email,
                "fullName": person.full_name,
                "programId": program_ref,
                "programName": program.name,
                "membershipState": "MEMBER",
                "contentId": course.provider_course_id,
                "contentType": "Course",
                "contentName": course.title,
                "contentSlug": _slug(course),
                "partnerNames": [course.partner],
                "approxTotalCourseHrs": float(course.hours or 0),
                "enrolledAt": _epoch_ms(enrolled_at),
                "lastActivityAt": _epoch_ms(completed_at or enrolled_at + dt.timedelta(days=rng.randint(0, 20))),
                "isCompleted": completed_at is not None,
                "completedAt": _epoch_ms(completed_at),
                "overallProgress": progress,
                "grade": round(rng.uniform(0.72, 0.99), 2) if completed_at else None,
                "collectionId": coursera_id(collection.name) if collection else None,
                "collectionName": collection.name if collection else None,
                "deletedAt": None,
                "updatedAt": updated_at,
            }
        )

    for person in people:
        path = person.organization.path if person.organization else ROOT_PATH
        start = max(first_day, person.hired_on or first_day)
        end = min(last_day, (person.departed_on or last_day) - dt.timedelta(days=1))
        if end < start:
            continue
        parts = path.split(PATH_SEPARATOR)
        chain_ids = [None] + [org_ids[PATH_SEPARATOR.join(parts[: i + 1])] for i in range(len(parts))]
        options = [pair for org_id in chain_ids for pair in curated.get(org_id, [])]
        if person.pk in sponsor_orgs:
            meets = SPONSOR_MEETS_GOAL.get(sponsor_orgs[person.pk], True)
        else:
            meets = rng.random() < rates.get(path, 0.5) * rate_factor
        if meets:
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
                course, collection = _pick_course(options, uncurated, rng)
                record(person, course, collection, _day_between(start, end, rng, late_bias=0.6))
        if rng.random() < (0.35 if meets else 0.45):
            course, collection = _pick_course(options, uncurated, rng)
            record(person, course, collection, None)
    return records


def _pick_course(
    options: list[tuple[Course, Collection]], others: list[Course], rng: random.Random
) -> tuple[Course, Collection | None]:
    """Mostly from the person's curated collections, otherwise from the rest of the catalog."""
    if options and rng.random() < CURATED_PICK_SHARE:
        return rng.choice(options)
    return rng.choice(others), None


def demo_study_groups_create(
    *,
    program: LearningProgram,
    orgs: dict[str, Organization],
    champions: dict[str, list[Employee]],
    collections: list[Collection],
    employees: list[Employee],
    rng: random.Random,
) -> None:
    """Two study groups per top-level organization, run by its champions, each with two
    past sessions (with attendance) and two upcoming ones, and six to ten members."""
    now = timezone.now()
    tz = timezone.get_default_timezone()
    noon_today = dt.datetime.combine(timezone.localdate(), dt.time(12, 0), tzinfo=tz)
    by_org = {c.organization_id: c for c in collections}
    groups: list[StudyGroup] = []
    for path in TOP_LEVEL_PATHS:
        collection = by_org[orgs[path].pk]
        items = list(collection.items.select_related("course").order_by("position"))
        for number in range(2):
            course = items[number % len(items)].course
            groups.append(
                StudyGroup(
                    program=program,
                    organization=orgs[path],
                    name=f"{orgs[path].name}: {course.title}"[:200],
                    description=f"We work through {course.title} together, one module a week.",
                    course=course,
                    collection=collection,
                    champion=champions[path][number % len(champions[path])],
                    location=rng.choice(["Room 4.12", "Library corner", "Room 2.03", "Cafeteria, table 7"]),
                    video_url=f"https://meet.{DEMO_DOMAIN}/{coursera_id(path + str(number)).lower()}",
                    capacity=rng.choice([None, 12, 15, 20]),
                    is_open=number == 0,
                )
            )
    StudyGroup.objects.bulk_create(groups)
    groups = list(StudyGroup.objects.filter(program=program).select_related("organization").order_by("name"))
    memberships: list[StudyGroupMembership] = []
    sessions: list[StudySession] = []
    members_of: dict[int, list[Employee]] = {}
    for group in groups:
        prefix = (group.organization.path if group.organization else ROOT_PATH) + PATH_SEPARATOR
        people = [
            e
            for e in employees
            if e.departed_on is None
            and e.organization is not None
            and (e.organization_id == group.organization_id or e.organization.path.startswith(prefix))
        ]
        members = rng.sample(people, min(len(people), rng.randint(6, 10)))
        if group.champion is not None and group.champion not in members:
            members.append(group.champion)
        members_of[group.pk] = members
        memberships += [StudyGroupMembership(group=group, employee=m) for m in members]
        for week in (-21, -7, 7, 21):
            starts_at = noon_today + dt.timedelta(days=week + rng.randint(0, 2))
            sessions.append(
                StudySession(
                    group=group,
                    starts_at=starts_at,
                    ends_at=starts_at + dt.timedelta(hours=1),
                    topic=f"Module {(week + 21) // 14 + 1}",
                    location=group.location,
                    notes="Bring your questions from the week's videos." if week > 0 else "Good discussion.",
                )
            )
    StudyGroupMembership.objects.bulk_create(memberships)
    StudySession.objects.bulk_create(sessions)
    attendance = [
        Attendance(session=session, employee=member)
        for session in StudySession.objects.filter(group__program=program, starts_at__lt=now).order_by("pk")
        for member in members_of[session.group_id]
        if rng.random() < 0.75
    ]
    Attendance.objects.bulk_create(attendance)


def demo_updates_and_stories_create(
    *,
    program: LearningProgram,
    orgs: dict[str, Organization],
    sponsors: dict[str, Employee],
    champions: dict[str, list[Employee]],
    ld_admin: Employee,
    records: list[dict[str, Any]],
    rng: random.Random,
) -> None:
    """Progress updates from L&D (company-wide, for All Hands), sponsors and champions,
    and learner stories from people who completed a course of `program` in `records`
    (what the sandbox serves): most shared with consent, two private, one withdrawn."""
    updates = [
        ProgressUpdate(
            program=program,
            organization=None,
            author=ld_admin,
            title=f"{program.name} is live",
            body="Every organization now has a curated collection. Pick one course and finish it this year!",
            for_all_hands=True,
        ),
        ProgressUpdate(
            program=program,
            organization=None,
            author=ld_admin,
            title="Halfway there: org-by-org standings",
            body="Engineering leads the board; Sales is catching up fast since the negotiation study group.",
            for_all_hands=True,
        ),
    ]
    for path in TOP_LEVEL_PATHS:
        updates.append(
            ProgressUpdate(
                program=program,
                organization=orgs[path],
                author=sponsors[path],
                title=f"Why {orgs[path].name} is learning this year",
                body="I recorded a short video about our collection. I am taking the first course myself.",
            )
        )
        updates.append(
            ProgressUpdate(
                program=program,
                organization=orgs[path],
                author=champions[path][0],
                title="New study group sessions",
                body="Two new sessions are on the calendar. Join even if you have not started the course yet.",
                for_all_hands=path == "Acme/Engineering",
            )
        )
    ProgressUpdate.objects.bulk_create(updates)
    now = timezone.now()
    for age, update in zip(
        range(len(updates), 0, -1), ProgressUpdate.objects.filter(program=program).order_by("pk"), strict=True
    ):
        ProgressUpdate.objects.filter(pk=update.pk).update(created_at=now - dt.timedelta(days=age * 12))

    program_ref = _program_ref(program)
    completed = sorted(
        (r["email"], r["contentId"]) for r in records if r["isCompleted"] and r["programId"] == program_ref
    )
    authors = rng.sample(completed, min(len(STORIES), len(completed)))
    people = {e.email: e for e in Employee.objects.filter(email__in={email for email, _ in authors})}
    courses = {
        c.provider_course_id: c
        for c in Course.objects.filter(provider=Provider.COURSERA, provider_course_id__in={c for _, c in authors})
    }
    stories = [
        LearnerStory(
            program=program,
            employee=people[email],
            course=courses[course_id],
            title=title,
            body=body,
            consent_to_share=index < len(STORIES) - 2,
            withdrawn_at=now - dt.timedelta(days=3) if index == 0 else None,
        )
        for index, ((title, body), (email, course_id)) in enumerate(zip(STORIES, authors, strict=False))
    ]
    LearnerStory.objects.bulk_create(stories)


def _rng(seed: int, part: str) -> random.Random:
    """One random stream per part of the demo, so a date-dependent part (who is already
    hired today, say) never shifts the numbers another part draws."""
    return random.Random(f"{seed}:{part}")  # noqa: S311  # must repeat for a seed, need not be secret


def demo_seeded_records(*, seed: int, programs: list[LearningProgram], as_of: dt.date) -> list[dict[str, Any]]:
    """The demo's completion history for its roster, for `seed` on day `as_of`: `programs`
    are last year's and this year's, in that order (a learner x course appears once
    across them). A sync of the sandbox turns exactly these into Enrollment rows."""
    taken: set[tuple[str, str]] = set()
    records: list[dict[str, Any]] = []
    for index, program in enumerate(programs):
        stream = "activity" if index == len(programs) - 1 else f"earlier activity {index}"
        records += demo_activity_records(program=program, rng=_rng(seed, stream), as_of=as_of, taken=taken)
    return records


# People who take courses on the company's Coursera account but are not on the roster.
CONTRACTORS: tuple[tuple[str, str], ...] = (
    ("Robin Vale", "robin.vale@northwind-contracting.example"),
    ("Kit Marlowe", "kit.marlowe@northwind-contracting.example"),
    ("Sasha Ionescu", "sasha.ionescu@brightpath-staffing.example"),
    ("Jules Okoye", "jules.okoye@brightpath-staffing.example"),
    ("Morgan Blake", "m.blake@freelance.example"),
)
SPECIALIZATION = ("s12n:data-science", "Data Science Specialization", "jhu-data-science", "Johns Hopkins University")
# What each malformed record breaks, in order (the pipeline's reason is in the comment).
MALFORMED = (
    "completedAt",  # completedAt: cannot parse '2026-13-45T25:00'
    "contentId",  # contentId: missing
    "contentType",  # unknown content type 'hologram'
    "learner",  # no learner: email and externalId are both empty
)
DEMO_UNMATCHED = len(CONTRACTORS) + 1  # each completed one course; the first also has one in progress
DEMO_INVALID = len(MALFORMED)
DEMO_SKIPPED = 2  # specializations: valid Coursera content, but only courses count


def demo_sandbox_extras(
    *, seed: int, program: LearningProgram, seeded: list[dict[str, Any]], as_of: dt.date
) -> list[dict[str, Any]]:
    """What a real Coursera account also reports, in `program` (this year's): contractors
    who are not on the roster (DEMO_UNMATCHED records, kept as unmatched), malformed
    records (DEMO_INVALID, kept as invalid with a reason) and specializations
    (DEMO_SKIPPED, counted as skipped). Built from copies of `seeded` records of the
    program, so they look like the rest; deterministic for `seed` and `as_of`."""
    rng = _rng(seed, "sandbox extras")
    program_ref = _program_ref(program)
    mine = [r for r in seeded if r["programId"] == program_ref and r["isCompleted"]]
    if not mine:
        return []
    catalog = list(Course.objects.filter(provider=Provider.COURSERA).order_by("provider_course_id"))
    last_day = max(program.starts_on, min(as_of - dt.timedelta(days=1), program.ends_on))
    extras: list[dict[str, Any]] = []

    def copy(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
        record = {**base, **changes}
        key = record.get("externalId") or record.get("email") or "unknown"
        record["id"] = f"{key}~{record.get('contentId', '')}~{program_ref}"
        return record

    for number, (full_name, email) in enumerate(CONTRACTORS):
        course = rng.choice(catalog)
        completed_at = _moment(_day_between(program.starts_on, last_day, rng, late_bias=0.6), rng)
        enrolled_at = completed_at - dt.timedelta(days=rng.randint(7, 40))
        base = copy(
            rng.choice(mine),
            externalId=email,  # Coursera's default external id is the e-mail
            email=email,
            fullName=full_name,
            contentId=course.provider_course_id,
            contentName=course.title,
            contentSlug=_slug(course),
            partnerNames=[course.partner],
            collectionId=None,
            collectionName=None,
            enrolledAt=_epoch_ms(enrolled_at),
            completedAt=_epoch_ms(completed_at),
            lastActivityAt=_epoch_ms(completed_at),
        )
        extras.append(base)
        if number == 0:
            other = next(c for c in catalog if c.provider_course_id != course.provider_course_id)
            extras.append(
                copy(
                    base,
                    contentId=other.provider_course_id,
                    contentName=other.title,
                    contentSlug=_slug(other),
                    partnerNames=[other.partner],
                    isCompleted=False,
                    completedAt=None,
                    overallProgress=40,
                    grade=None,
                )
            )
    for what in MALFORMED:
        base = rng.choice(mine)
        if what == "completedAt":
            extras.append(copy(base, completedAt="2026-13-45T25:00"))
        elif what == "contentId":
            broken = copy(base)
            broken.pop("contentId")
            extras.append(broken)
        elif what == "contentType":
            extras.append(copy(base, contentType="Hologram"))
        else:
            extras.append(copy(base, externalId="", email="", fullName=""))
    content_id, title, slug, partner = SPECIALIZATION
    for base in rng.sample(mine, min(DEMO_SKIPPED, len(mine))):
        extras.append(
            copy(
                base,
                contentId=coursera_id(content_id),
                contentType="Specialization",
                contentName=title,
                contentSlug=slug,
                partnerNames=[partner],
                collectionId=None,
                collectionName=None,
            )
        )
    return extras


def demo_programs_served(*, connection: ProviderConnection) -> list[LearningProgram]:
    """The demo's programs the connection reads, oldest first."""
    refs = set(connection.provider_program_ids or [])
    return [p for p in LearningProgram.objects.order_by("starts_on", "pk") if _program_ref(p) in refs]


def demo_sandbox_records(*, seed: int, programs: list[LearningProgram], as_of: dt.date) -> list[dict[str, Any]]:
    """Everything the sandbox serves for the demo: `demo_seeded_records` (the roster's
    history, which becomes the demo's enrollments) followed by `demo_sandbox_extras` in
    the last (current) program."""
    seeded = demo_seeded_records(seed=seed, programs=programs, as_of=as_of)
    if not programs:
        return seeded
    return seeded + demo_sandbox_extras(seed=seed, program=programs[-1], seeded=seeded, as_of=as_of)


def demo_sandbox_data(*, org_id: str, seed: int, as_of: dt.date | None = None) -> SandboxData | None:
    """The sandbox's data for the demo when the demo is loaded and `org_id` is its
    connection's org id (DEMO_ORG_ID), else None. Programs are the connection's, records
    are `demo_sandbox_records` for `seed` (use the seed seed_demo used) on `as_of`
    (default: today in the company time zone)."""
    connection = ProviderConnection.objects.filter(name=DEMO_CONNECTION_NAME, provider_org_id=org_id).first()
    if connection is None:
        return None
    programs = demo_programs_served(connection=connection)
    records = demo_sandbox_records(seed=seed, programs=programs, as_of=as_of or timezone.localdate())
    return SandboxData(
        org_id=org_id,
        programs=[{"id": _program_ref(p), "name": p.name, "slug": _program_ref(p).lower()} for p in programs],
        elements=records,
    )


def demo_sandbox_urls(*, port: int) -> tuple[str, str]:
    """(base URL, token URL) of the local sandbox on `port`."""
    address = f"http://127.0.0.1:{port}"
    return address + API_PREFIX, address + TOKEN_PATH


def demo_connection_point(*, port: int) -> bool:
    """Point the demo's connection at the sandbox on `port`; True when it moved."""
    base_url, token_url = demo_sandbox_urls(port=port)
    moved = (
        ProviderConnection.objects.filter(name=DEMO_CONNECTION_NAME)
        .exclude(base_url=base_url, token_url=token_url)
        .update(base_url=base_url, token_url=token_url)
    )
    return moved > 0


def demo_seed(
    *, seed: int = DEFAULT_SEED, employees: int = DEFAULT_EMPLOYEES, sandbox_port: int = DEFAULT_SANDBOX_PORT
) -> DemoResult:
    """Fill an empty database with the Acme demo, deterministically for `seed`.

    No enrollments are written: the "Coursera (demo)" connection points at the local
    Coursera sandbox on `sandbox_port` (demo client id and secret, org DEMO_ORG_ID, last
    year's and this year's program), and a sync of it writes the completion history the
    sandbox serves (`demo_sandbox_records`). Learner stories are drawn from that history.

    Idempotent: when the demo is already loaded (its "Coursera (demo)" connection exists)
    nothing changes except, when `sandbox_port` differs, the connection's URLs. A
    database that holds other people is refused (DemoDataExistsError), so demo data
    never mixes with a real roster. All in one transaction: a failure leaves nothing behind.
    """
    result = DemoResult(seed=seed, logins=demo_logins())
    today = timezone.localdate()
    with transaction.atomic():
        if demo_is_loaded():
            result.already_loaded = True
            result.connection_moved = demo_connection_point(port=sandbox_port)
            return result
        if Employee.objects.exists():
            raise DemoDataExistsError(
                f"The database already holds a roster ({Employee.objects.count()} people); seed_demo only fills "
                "an empty database. Use a fresh database (for example a new SQLite file, then migrate)."
            )
        orgs = demo_organizations_create()
        courses = demo_courses_create()
        people = demo_employees_create(orgs=orgs, count=employees, rng=_rng(seed, "people"), today=today)
        last_program, program = demo_programs_create(today=today)
        sponsors, champions = demo_appointments_create(
            program=program, orgs=orgs, employees=people, rng=_rng(seed, "appointments")
        )
        collections = demo_collections_create(
            program=program, orgs=orgs, sponsors=sponsors, courses=courses, rng=_rng(seed, "collections")
        )
        base_url, token_url = demo_sandbox_urls(port=sandbox_port)
        ProviderConnection.objects.create(
            name=DEMO_CONNECTION_NAME,
            kind=Provider.COURSERA,
            base_url=base_url,
            token_url=token_url,
            provider_org_id=DEMO_ORG_ID,
            provider_program_ids=[_program_ref(last_program), _program_ref(program)],
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
        )
        records = demo_seeded_records(seed=seed, programs=[last_program, program], as_of=today)
        demo_study_groups_create(
            program=program,
            orgs=orgs,
            champions=champions,
            collections=collections,
            employees=people,
            rng=_rng(seed, "groups"),
        )
        ld_admin = next(p for p in people if p.email == LD_ADMIN.email)
        demo_updates_and_stories_create(
            program=program,
            orgs=orgs,
            sponsors=sponsors,
            champions=champions,
            ld_admin=ld_admin,
            records=records,
            rng=_rng(seed, "stories"),
        )
    result.employees = len(people)
    result.organizations = len(orgs)
    result.courses = len(courses)
    result.collections = len(collections)
    result.records = len(records)
    result.completions = sum(1 for r in records if r["isCompleted"])
    return result
