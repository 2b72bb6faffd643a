"""Number formats of the public pages, in one place so every page (and its tests) agree.

Scores are shown to the unit (as LMArena does), intervals as +above/-below the score, win rates
as percentages with one decimal; a missing value is an en dash.
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

MISSING = "\u2013"  # an en dash


def _missing(value: Any) -> bool:
    # The template engine hands an unresolved lookup (`None.win_rate`) over as "".
    return value is None or value == ""


@register.filter
def score(value: float | None) -> str:
    """A score to the unit: 1034.4 -> "1034"."""
    return MISSING if _missing(value) else f"{value:.0f}"


@register.filter
def percent(value: float | None) -> str:
    """A share as a percentage with one decimal: 0.6234 -> "62.3%"."""
    return MISSING if _missing(value) else f"{100 * value:.1f}%"


@register.filter
def rank(value: int | None) -> str:
    return MISSING if _missing(value) else str(value)


@register.filter
def count(value: float | None) -> str:
    """A vote count with thousands separators: 12345 -> "12,345"."""
    return MISSING if _missing(value) else f"{round(value):,}"


@register.filter
def heat(value: float | None) -> str:
    """A background colour for a win rate: blue above one half, red below, white at it."""
    if _missing(value):
        return "transparent"
    strength = min(abs(value - 0.5) * 2, 1.0)
    hue = 221 if value >= 0.5 else 4
    return f"hsla({hue}, 80%, 50%, {0.08 + 0.6 * strength:.2f})"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """`mapping[key]`, or None."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def ci_plus(row: Any) -> str:
    """How far the interval reaches above the score, to the unit."""
    if row.score is None or row.ci_high is None:
        return MISSING
    return f"{row.ci_high - row.score:.0f}"


@register.filter
def ci_minus(row: Any) -> str:
    """How far the interval reaches below the score, to the unit."""
    if row.score is None or row.ci_low is None:
        return MISSING
    return f"{row.score - row.ci_low:.0f}"
