"""How rates and targets are written, everywhere (pages, e-mails, chat posts, the audit
trail): `{% load formats %}` in templates, these functions in Python. A missing rate
shows as a dash, never as 0% or 100%."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.formats import get_format
from django.utils.translation import pgettext

register = template.Library()

NO_RATE = "\N{EN DASH}"

Rate = float | Decimal | None


@register.filter
def percent(rate: Rate, digits: int = 0) -> str:
    """0.8567 -> "86%"; None -> a dash."""
    if rate is None or rate == "":
        return NO_RATE
    return _percent_sign(_decimal_comma(f"{float(rate) * 100:.{int(digits)}f}"))


@register.filter
def progress_percent(progress: Rate) -> str:
    """A course's progress as providers report it, from 0 to 100, to the whole percent (half
    up, as `floatformat:0` rounds it for a bar's value): 79.5 -> "80%" ("80 %" in German);
    None -> a dash."""
    if progress is None or progress == "":
        return NO_RATE
    return _percent_sign(str(Decimal(str(progress)).quantize(Decimal(1), rounding=ROUND_HALF_UP)))


@register.filter
def target(rate: Rate) -> str:
    """A program target as people read it, to the tenth of a point it is kept at:
    0.900 -> "90%", 0.875 -> "87.5%"; None -> a dash."""
    if rate is None or rate == "":
        return NO_RATE
    return _percent_sign(_decimal_comma(str(target_percent(Decimal(str(rate))))))


def target_percent(rate: Decimal) -> Decimal:
    """0.900 -> Decimal("90"), 0.875 -> Decimal("87.5"): a target rate in percent with one
    decimal, the decimal dropped when it is zero (what the program form shows)."""
    percent = (rate * 100).quantize(Decimal("0.1"))
    return percent.quantize(Decimal(1)) if percent == percent.to_integral_value() else percent


@register.filter
def percent_width(rate: Rate) -> str:
    """A CSS width for a bar, clamped to 0..100%."""
    if rate is None or rate == "":
        return "0%"
    return f"{min(max(float(rate), 0.0), 1.0) * 100:.2f}%"


@register.filter
def signed_points(delta: Rate) -> str:
    """A change of rate in percentage points: 0.031 -> "+3.1 pts"; None -> a dash."""
    if delta is None:
        return NO_RATE
    points = _decimal_comma(f"{float(delta) * 100:+.1f}")
    return pgettext("percentage points", "%(points)s pts") % {"points": points}


def _decimal_comma(number: str) -> str:
    """A number written with a point, in the language's decimal separator ("87,5" in German)."""
    return number.replace(".", get_format("DECIMAL_SEPARATOR"))


def _percent_sign(number: str) -> str:
    """ "87.5%" in English, "87,5 %" in German (a no-break space before the sign)."""
    return pgettext("percentage", "%(number)s%%") % {"number": number}
