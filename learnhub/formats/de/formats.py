"""LearnHub's German dates, the counterparts of learnhub/formats/en (same names); Django's
German formats fill in the rest (decimal comma, thousands point)."""

DATE_FORMAT = "j. F Y"  # 4. Dezember 2026
SHORT_DATE_FORMAT = "d.m.Y"  # 04.12.2026
DATETIME_FORMAT = "D, j. M Y, H:i"  # Fr, 4. Dez. 2026, 16:30
SHORT_DATETIME_FORMAT = "d.m.Y H:i"  # 04.12.2026 16:30
YEAR_MONTH_FORMAT = "F Y"  # Dezember 2026
MONTH_DAY_FORMAT = "j. F"  # 4. Dezember
TIME_FORMAT = "H:i"  # 16:30
