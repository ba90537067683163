"""An independent reference for SPARQL 1.1 §15.1 ORDER BY, written from the spec in Python (not from our rewrite).

Terms are SPARQL JSON result bindings (None for unbound). The order: unbound < blank nodes < IRIs < literals;
literals by family (numbers, NaN, strings, language-tagged strings, booleans, dateTime, date, gYear, other),
by value within a family (numbers as exact rationals, points in time on the UTC timeline with a missing
timezone read as UTC), then by lexical form, datatype and language.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

XSD = "http://www.w3.org/2001/XMLSchema#"
INTEGER_TYPES = {f"{XSD}{name}" for name in (
    "integer", "nonPositiveInteger", "negativeInteger", "long", "int", "short", "byte", "nonNegativeInteger",
    "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte", "positiveInteger")}
FLOATING = {f"{XSD}double", f"{XSD}float"}
FAMILIES = ["unbound", "bnode", "iri", "number", "nan", "string", "lang", "boolean", "dateTime", "date", "gYear",
            "other"]


def _instant(lexical: str, with_time: bool) -> Fraction | None:
    """Seconds from 1970-01-01T00:00:00Z, a missing timezone read as UTC (the order XSD gives where determinate)."""
    text = lexical.strip()
    tz = dt.UTC
    if text.endswith("Z"):
        text = text[:-1]
    elif len(text) > 6 and text[-6] in "+-" and text[-3] == ":":
        sign = 1 if text[-6] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(text[-5:-3]), minutes=int(text[-2:])))
        text = text[:-6]
    try:
        if with_time:
            whole, _, fraction = text.partition(".")
            moment = dt.datetime.fromisoformat(whole).replace(tzinfo=tz)
            extra = Fraction(Decimal("0." + fraction)) if fraction else Fraction(0)
        else:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=tz)
            extra = Fraction(0)
    except ValueError:
        return None
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    delta = moment - epoch
    return Fraction(delta.days * 86400 + delta.seconds) + extra


def _number(lexical: str, datatype: str) -> Fraction | float | None:
    try:
        if datatype in FLOATING:
            value = float(lexical.strip().replace("INF", "inf"))
            return value if math.isnan(value) or math.isinf(value) else Fraction(value)
        return Fraction(Decimal(lexical.strip()))
    except (ValueError, ArithmeticError):
        return None


def family_and_value(term: dict[str, Any] | None) -> tuple[str, Any]:
    if term is None:
        return "unbound", 0
    kind, lexical = term["type"], term["value"]
    if kind == "bnode":
        return "bnode", lexical
    if kind == "uri":
        return "iri", lexical
    if "xml:lang" in term:
        return "lang", lexical
    datatype = term.get("datatype", f"{XSD}string")
    if datatype in INTEGER_TYPES or datatype in FLOATING or datatype == f"{XSD}decimal":
        value = _number(lexical, datatype)
        if isinstance(value, float) and math.isnan(value):
            return "nan", 0
        if value is not None:
            # as a sortable pair: infinities beyond every rational
            return "number", (0, 0) if value == -math.inf else (2, 0) if value == math.inf else (1, value)
        return "other", lexical
    if datatype == f"{XSD}string":
        return "string", lexical
    if datatype == f"{XSD}boolean" and lexical in ("true", "false", "1", "0"):
        return "boolean", lexical in ("true", "1")
    if datatype in (f"{XSD}dateTime", f"{XSD}date"):
        instant = _instant(lexical, datatype.endswith("dateTime"))
        if instant is not None:
            return datatype.removeprefix(XSD), instant
    if datatype == f"{XSD}gYear":
        text = lexical.rstrip("Z")
        year = text[:-6] if len(text) > 6 and text[-6] in "+-" else text
        try:
            return "gYear", int(year)
        except ValueError:
            pass
    return "other", lexical


def order_key(term: dict[str, Any] | None) -> tuple[Any, ...]:
    family, value = family_and_value(term)
    if term is None:
        return (0,)
    return (FAMILIES.index(family), value, term["value"], term.get("datatype", ""), term.get("xml:lang", ""))


def comparable(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether SPARQL's `<` (or the §15.1 kinds order) decides between a and b, so that the order is fixed."""
    fa, _ = family_and_value(a)
    fb, _ = family_and_value(b)
    return fa != fb or fa in ("number", "string", "boolean", "dateTime", "unbound", "iri")


def in_order(terms: list[dict[str, Any] | None], descending: bool = False) -> list[int]:
    """Positions i where terms[i] and terms[i+1] are out of the reference order (empty: in order)."""
    keys = [order_key(t) for t in terms]
    bad = []
    for i in range(len(keys) - 1):
        first, second = (keys[i + 1], keys[i]) if descending else (keys[i], keys[i + 1])
        if first > second:
            bad.append(i)
    return bad
