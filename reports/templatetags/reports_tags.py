"""Display helpers for rates: a missing rate shows as a dash, never as 0% or 100%."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()

NO_RATE = "\N{EN DASH}"

Rate = float | Decimal | None


@register.filter
def percent(rate: Rate, digits: int = 0) -> str:
    """0.8567 -> "86%"; None -> a dash."""
    if rate is None or rate == "":
        return NO_RATE
    return f"{float(rate) * 100:.{int(digits)}f}%"


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
    points = float(delta) * 100
    return f"{points:+.1f} pts"
