"""LearnHub's English dates (Django's `date` filter syntax): day before month, the way an
international company reads them ("4 Dec 2026"). Templates name these formats
(`date:"SHORT_DATE_FORMAT"`), never a pattern of their own; Django's English formats fill
in the rest."""

DATE_FORMAT = "j F Y"  # 4 December 2026
SHORT_DATE_FORMAT = "j M Y"  # 4 Dec 2026
DATETIME_FORMAT = "D j M Y, H:i"  # Fri 4 Dec 2026, 16:30 (when something happens: a session)
SHORT_DATETIME_FORMAT = "j M Y H:i"  # 4 Dec 2026 16:30 (when something happened)
YEAR_MONTH_FORMAT = "F Y"  # December 2026
MONTH_DAY_FORMAT = "j F"  # 4 December
TIME_FORMAT = "H:i"  # 16:30
