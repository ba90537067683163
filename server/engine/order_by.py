"""ORDER BY in a total order: each sort condition is rewritten into sort keys the engine compares consistently.

Why: Oxigraph compares two terms by value where SPARQL's `<` is defined and by lexical form otherwise. That
mix is not transitive (30 < 100 by value, 100 < "2015"^^xsd:gYear and "2015"^^xsd:gYear < 30 by lexical
form), so a sort over mixed terms either panics inside the engine (Rust checks its comparator) or returns
numbers out of order. The engine's comparator *is* a total order on terms of one kind (only integers and
decimals, only doubles, only simple strings, only durations, only IRIs), so each condition `E` becomes:

1. the family of E, an integer: unbound or error < blank node < IRI < number < NaN < string < language-tagged
   string < boolean < dateTime < date < time < gYearMonth < gYear < gMonthDay < gDay < gMonth < any other
   literal (SPARQL 1.1 §15.1 for the first four; the rest a fixed choice);
2. the value within the family, always of one kind: the double value of a number, the string of a string,
   false < true, a date or time as its duration from 1970 (without a timezone read as UTC: the order XSD
   gives wherever it is determinate), a calendar fragment as an integer;
3. a tie-break within the family: the exact decimal value of an integer or decimal where the double loses
   precision (it cannot tell 2^53 from 2^53+1), the language of a tagged string, the timezone of a calendar
   fragment, the datatype of any other literal;
4. the lexical form (with the datatype, for numbers): different terms never tie.

Each key sees only terms of one kind within the family the keys before it fixed, so the engine's sort is a
total order that agrees with `<` wherever SPARQL defines it; DESC reverses every key. The engine computes
the keys once per solution (spareval extends the solutions with them before sorting), not per comparison.

The conditions are found with the policy's tokenizer. A clause it cannot read is left as written: the engine
then sorts it as before. A condition that is a variable bound only by `(COUNT(...) AS ?n)` is left as written
too: its values are all integers, which the engine already sorts in total, and the keys would cost more to
parse than the sort (the top-N-by-count query: benchmarks/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from nato_kg.engine.policy import tokens
from nato_kg.namespaces import XSD

_XSD = XSD


def _is(datatype: str) -> str:
    return f"DATATYPE({{e}})=<{_XSD}{datatype}>"


# Literal families after numbers, strings and language-tagged strings: (test, rank, value key, tie-break).
_EPOCH = {"dateTime": "1970-01-01T00:00:00", "date": "1970-01-01", "time": "00:00:00"}
_CALENDAR = {  # the value of a calendar fragment as an integer (XSD compares them by their first instant)
    "gYearMonth": "YEAR({e})*12+MONTH({e})",
    "gYear": "YEAR({e})",
    "gMonthDay": "MONTH({e})*100+DAY({e})",
    "gDay": "DAY({e})",
    "gMonth": "MONTH({e})",
}
_TIMELINE = {  # a point in time as its duration from 1970, in the same timezone or UTC
    kind: (f"{{e}}-IF(TZ({{e}})=\"\",\"{epoch}\"^^<{_XSD}{kind}>,\"{epoch}Z\"^^<{_XSD}{kind}>)")
    for kind, epoch in _EPOCH.items()
}
_FAMILIES: list[tuple[str, str]] = [  # (test, value key), ranked from 7 up
    (_is("boolean"), "IF({e},1,0)"),
    (f"{_is('dateTime')}||{_is('dateTimeStamp')}", _TIMELINE["dateTime"]),
    (_is("date"), _TIMELINE["date"]),
    (_is("time"), _TIMELINE["time"]),
    *((_is(kind), key) for kind, key in _CALENDAR.items()),
]
_OTHER_RANK = 7 + len(_FAMILIES)


def _nest(cases: list[tuple[str, str]], otherwise: str) -> str:
    """IF(test1, value1, IF(test2, value2, ... otherwise))."""
    text = otherwise
    for test, value in reversed(cases):
        text = f"IF({test},{value},{text})"
    return text


_RANK = "COALESCE(" + _nest(
    [("isIRI({e})", "2"), ("isBLANK({e})", "1"), ("isNUMERIC({e})", "IF({e}={e},3,4)"),
     ('LANG({e})!=""', "6"), (_is("string"), "5"),
     *((test, str(7 + i)) for i, (test, _) in enumerate(_FAMILIES))],
    str(_OTHER_RANK)) + ",0)"
_VALUE = _nest(
    [("isIRI({e})||isBLANK({e})", "{e}"), ("isNUMERIC({e})", f"<{_XSD}double>({{e}})"),
     (f'LANG({{e}})!=""||{_is("string")}', "STR({e})"), *_FAMILIES],
    "STR({e})")
_EXACT = _nest(  # unbound for IRIs and blank nodes (LANG fails on them): they never tie on the value
    [("isNUMERIC({e})", f"IF({_is('double')}||{_is('float')},0,<{_XSD}decimal>({{e}}))"),
     ('LANG({e})!=""', "LANG({e})"),
     ("||".join(_is(kind) for kind in _CALENDAR), f'"PT0S"^^<{_XSD}dayTimeDuration>-TIMEZONE({{e}})')],
    "STR(DATATYPE({e}))")
# The lexical form, and for numbers their datatype too ("1"^^xsd:int and "1"^^xsd:integer): the space sorts
# before any character of a number's lexical form, so this orders by (lexical form, datatype).
_LEXICAL = 'IF(isLITERAL({e}),IF(isNUMERIC({e}),CONCAT(STR({e})," ",STR(DATATYPE({e}))),STR({e})),0)'
KEYS = (_RANK, _VALUE, _EXACT, _LEXICAL)

_ENDS = frozenset({"LIMIT", "OFFSET", "VALUES"})


def sort_keys(expression: str, descending: bool = False) -> str:
    """The ORDER BY conditions that sort by `expression` (a variable or bracketed/called expression) in total."""
    direction = "DESC" if descending else "ASC"
    return " ".join(f"{direction}({key.replace('{e}', expression)})" for key in KEYS)


def total_order(query: str) -> str:
    """`query` with every ORDER BY clause it can read rewritten into total sort keys; otherwise unchanged."""
    if "order" not in query.lower():
        return query
    toks = [t for t in tokens(query) if t[0] not in ("ws", "comment")]
    clauses = [_read_clause(query, toks, i + 2) for i in range(len(toks) - 1)
               if _is_word(toks[i], "ORDER") and _is_word(toks[i + 1], "BY")]
    counted = _counted(toks, {j for clause in clauses for j in clause.tokens})
    for clause in reversed(clauses):
        if clause.conditions and any(c.variable not in counted for c in clause.conditions):
            keys = " ".join(c.written if c.variable in counted else sort_keys(c.expression, c.descending)
                            for c in clause.conditions)
            query = query[:clause.start] + keys + query[clause.end:]
    return query


@dataclass(frozen=True)
class _Condition:
    expression: str  # what it sorts by
    descending: bool
    written: str  # the condition as the query wrote it
    variable: str | None  # the variable's name, when the condition is one variable alone


@dataclass(frozen=True)
class _Clause:
    tokens: range  # the indexes of the tokens it covers
    conditions: list[_Condition] | None  # None: not read (something this reader does not know), left as written
    start: int  # offsets of the conditions in the query text
    end: int


def _is_word(token: tuple[str, str, int], word: str) -> bool:
    return token[0] == "word" and token[1].upper() == word


def _counted(toks: list[tuple[str, str, int]], in_order_by: set[int]) -> frozenset[str]:
    """Names of the variables that are bound only as `(COUNT(...) AS ?n)` and otherwise appear only in ORDER BY
    clauses: all their values are integers."""
    counts: set[str] = set()
    others: set[str] = set()
    for i, (kind, text, _) in enumerate(toks):
        if kind != "var" or i in in_order_by:
            continue
        opening = _matching(toks, i - 2) if i >= 4 and _is_word(toks[i - 1], "AS") and toks[i - 2][1] == ")" \
            else None
        if opening is not None and opening >= 2 and _is_word(toks[opening - 1], "COUNT") \
                and toks[opening - 2][1] == "(":
            counts.add(text[1:])
        else:
            others.add(text[1:])
    return frozenset(counts - others)


def _read_clause(query: str, toks: list[tuple[str, str, int]], i: int) -> _Clause:
    """The ORDER BY conditions from token i on."""
    first = i
    conditions: list[_Condition] = []
    start = toks[i][2] if i < len(toks) else len(query)
    end = start
    while i < len(toks):
        kind, text, offset = toks[i]
        upper = text.upper() if kind == "word" else ""
        descending, variable = False, None
        if kind == "var":
            expression, variable, i = text, text[1:], i + 1
        elif upper in ("ASC", "DESC") and _at(toks, i + 1, "("):
            close = _matching(toks, i + 1)
            if close is None:
                return _Clause(range(first, i + 1), None, start, end)
            descending = upper == "DESC"
            if close == i + 3 and toks[i + 2][0] == "var":
                variable = toks[i + 2][1][1:]
            expression, i = query[toks[i + 1][2]:toks[close][2] + 1], close + 1
        elif kind == "open" and text == "(":
            close = _matching(toks, i)
            if close is None:
                return _Clause(range(first, i + 1), None, start, end)
            expression, i = query[offset:toks[close][2] + 1], close + 1
        elif kind in ("word", "iri", "pname") and upper not in _ENDS and _at(toks, i + 1, "("):
            close = _matching(toks, i + 1)  # a built-in or function call, e.g. STR(?o), COUNT(*), ex:f(?x)
            if close is None:
                return _Clause(range(first, i + 1), None, start, end)
            expression, i = query[offset:toks[close][2] + 1], close + 1
        elif kind == "word" and upper not in _ENDS:
            return _Clause(range(first, i + 1), None, start, end)  # EXISTS { }, NOT EXISTS: left to the engine
        else:
            break
        end = toks[i - 1][2] + len(toks[i - 1][1])
        conditions.append(_Condition(expression, descending, query[offset:end], variable))
    return _Clause(range(first, i), conditions or None, start, end)


def _at(toks: list[tuple[str, str, int]], i: int, text: str) -> bool:
    return i < len(toks) and toks[i][1] == text


def _matching(toks: list[tuple[str, str, int]], i: int) -> int | None:
    """The index of the bracket that matches the one at i (forward from an opening one, back from a closing
    one), or None."""
    step = 1 if toks[i][0] == "open" else -1
    depth = 0
    while 0 <= i < len(toks):
        if toks[i][0] == "open":
            depth += step
        elif toks[i][0] == "close":
            depth -= step
        if depth == 0:
            return i
        i += step
    return None


__all__ = ["KEYS", "sort_keys", "total_order"]
