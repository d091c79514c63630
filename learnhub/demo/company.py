"""Who the demo company is: Acme, its organizations, people, Coursera and Udemy Business
catalogs, curated collections and stories, its provider accounts, and the small
deterministic helpers the seed (learnhub/demo/seed.py) and the completion history
(learnhub/demo/history.py) share.

Nothing here reads or writes the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import string
from dataclasses import dataclass

from django.utils import timezone

from programs.models import PATH_SEPARATOR, ApprovalStatus, Course, LearningProgram, Provider

DEMO_PASSWORD = "learnhub-demo"  # noqa: S105  # printed on purpose: demo accounts only
DEMO_DOMAIN = "acme.example"
# The company's Coursera account: the local sandbox's business, served with its default
# client credentials (programs/providers/coursera_sandbox.py).
DEMO_CONNECTION_NAME = "Coursera (demo)"
DEMO_ORG_ID = "acme-demo"  # the demo's Coursera business id, also how run_sandbox_provider recognises the demo
DEMO_CLIENT_ID = "demo"
DEMO_CLIENT_SECRET = "demo"  # noqa: S105  # the local sandbox's demo secret, not a real one
DEMO_PROVIDERS = (Provider.COURSERA, Provider.UDEMY)  # the catalog's providers, each synced from its sandbox
# Its Udemy Business account: the local Udemy sandbox, same organization id and credentials.
DEMO_UDEMY_CONNECTION_NAME = "Udemy Business (demo)"
# LinkedIn Learning pushes xAPI statements to LearnHub (`post_demo_statements` plays LinkedIn).
DEMO_XAPI_CONNECTION_NAME = "LinkedIn Learning xAPI (demo)"
DEMO_XAPI_CLIENT_ID = "linkedin-learning-demo"
DEMO_XAPI_SECRET = "demo-xapi-secret"  # noqa: S105  # printed on purpose: the demo's own LRS secret


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
    language: str = ""  # the language the person chose ("" for none: the browser's)

    @property
    def email(self) -> str:
        return email_for(self.full_name)


CEO = DemoPerson("Alex Morgan", "Chief Executive Officer", "Acme")
EXECUTIVES: dict[str, DemoPerson] = {
    "Acme/Engineering": DemoPerson("Priya Raman", "VP Engineering", "Acme/Engineering", "executive sponsor"),
    "Acme/Sales": DemoPerson("Marcus Webb", "VP Sales", "Acme/Sales", "sponsor, German", language="de"),
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
DEMO_LOGINS = (LD_ADMIN, EXECUTIVES["Acme/Engineering"], DEMO_CHAMPION, DEMO_EMPLOYEE, EXECUTIVES["Acme/Sales"])
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

# The Udemy Business catalog the demo's collections also use: (course id, slug, title,
# instructor, approximate hours). Udemy numbers its courses; a collection names them by slug.
DEMO_UDEMY_COURSES: tuple[tuple[str, str, str, str, int], ...] = (
    (
        "2480938",
        "docker-kubernetes-the-practical-guide",
        "Docker & Kubernetes: The Practical Guide",
        "Maximilian S.",
        23,
    ),
    ("3212070", "the-complete-sql-bootcamp", "The Complete SQL Bootcamp: Go from Zero to Hero", "Jose P.", 9),
    ("1754098", "public-speaking-masterclass", "Public Speaking Masterclass: Speak with Confidence", "TJ W.", 6),
    ("2934176", "sales-skills-training", "Sales Training: Practical Sales Techniques", "Chris C.", 7),
    ("4017352", "customer-service-mastery", "Customer Service Mastery: Delight Every Customer", "Jeff T.", 5),
    ("3590622", "excel-for-business-analysts", "Excel for Business Analysts", "Chris D.", 8),
    ("2218174", "time-management-mastery", "Time Management Mastery: Do More, Stress Less", "Jeff S.", 4),
    ("4720514", "chatgpt-at-work", "ChatGPT at Work: Prompts for Every Team", "Leila G.", 5),
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
        "public-speaking-masterclass",
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
            "docker-kubernetes-the-practical-guide",
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
            "the-complete-sql-bootcamp",
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
            "sales-skills-training",
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
            "sales-skills-training",
            "excel-for-business-analysts",
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
            "chatgpt-at-work",
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
            "customer-service-mastery",
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
            "time-management-mastery",
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


def email_for(full_name: str, n: int = 1) -> str:
    """The demo e-mail of `full_name`; the n-th namesake (n > 1) gets a number."""
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


def epoch_ms(moment: dt.datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def moment_on(day: dt.date, rng: random.Random) -> dt.datetime:
    """A working-hours time on `day` in the company time zone."""
    tz = timezone.get_default_timezone()
    return dt.datetime.combine(day, dt.time(rng.randint(8, 19), rng.randint(0, 59)), tzinfo=tz)


def day_at(first: dt.date, last: dt.date, fraction: float) -> dt.date:
    """The day `fraction` (0..1) of the way from `first` to `last`."""
    return first + dt.timedelta(days=round(max((last - first).days, 0) * fraction))


def day_between(first: dt.date, last: dt.date, rng: random.Random, *, late_bias: float = 1.0) -> dt.date:
    """A day in [first, last]; late_bias < 1 favours later days (a rising trend)."""
    return day_at(first, last, rng.random() ** late_bias)


def coursera_program_id(program: LearningProgram) -> str:
    """The id the demo's Coursera account gives `program`, stable for its name."""
    return coursera_id(f"program:{program.name}")


def course_slug(course: Course) -> str:
    """The last part of the course's URL (coursera.org/learn/<slug>, udemy.com/course/<slug>/),
    as Coursera's contentSlug; the demo's collections name their courses by it."""
    return course.url.rstrip("/").rsplit("/", 1)[-1]


def demo_rng(seed: int, part: str) -> random.Random:
    """One random stream per part of the demo, so a date-dependent part (who is already
    hired today, say) never shifts the numbers another part draws."""
    return random.Random(f"{seed}:{part}")  # noqa: S311  # must repeat for a seed, need not be secret
