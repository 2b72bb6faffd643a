"""Template filters of the metric pages: numbers people can read, and signed differences."""

from __future__ import annotations

import json
import math
from typing import Any

from django import template

register = template.Library()


def metric_text(value: Any) -> str:
    """A metric value with as many decimals as its size warrants; an em dash when missing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    number = float(value)
    if not math.isfinite(number):
        return "—"
    size = abs(number)
    if number == int(number) and size < 1e15:
        return f"{int(number):,}"
    if size >= 1000:
        return f"{number:,.1f}"
    if size >= 10:
        return f"{number:.2f}"
    if size >= 0.01 or size == 0:
        return f"{number:.4f}"
    return f"{number:.3g}"


@register.filter
def metric(value: Any) -> str:
    """`metric_text` as a template filter."""
    return metric_text(value)


@register.filter
def signed_delta(value: Any) -> str:
    """A difference with its sign: +0.0120, \u22123 (a real minus sign)."""
    if value is None:
        return ""
    text = metric_text(abs(value))
    if value > 0:
        return f"+{text}"
    if value < 0:
        return f"\u2212{text}"
    return "±0"


@register.filter
def item(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` in a template, None when absent."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def as_json(value: Any) -> str:
    """A metadata value as compact JSON text (escaped by the template like any text)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def column_decimals(values: list[float]) -> int:
    """Decimals that show every value of one table column alike: none for whole numbers,
    more for small magnitudes (0.9340 beside 0.8020, 41.50 beside 3.90)."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    if not finite or all(v == int(v) for v in finite):
        return 0
    largest = max(finite)
    if largest < 1:
        return 4
    if largest < 100:
        return 2
    return 1 if largest < 10_000 else 0


def fixed_text(value: float | None, decimals: int) -> str:
    """`value` with `decimals` decimals and thousands separators; an em dash when missing."""
    if value is None or not math.isfinite(value):
        return "\u2014"
    return f"{value:,.{decimals}f}"
