"""HTTP trigger route templates, matched the way the Functions host (ASP.NET routing) does.

Supported: literal segments (case-insensitive), ``{name}``, optional ``{name?}`` and default
``{name=value}`` parameters at the end, several parameters in one segment (``{file}.{ext}``),
catch-alls ``{*rest}`` / ``{**rest}`` as the last segment, and the inline constraints ``int``,
``long``, ``alpha``, ``bool``, ``guid``, ``decimal``, ``double``, ``float``, ``datetime``,
``min(n)``, ``max(n)``, ``range(a,b)``, ``length(n)``, ``length(a,b)``, ``minlength(n)``,
``maxlength(n)`` and ``regex(expr)``, chained with ``:``. When several routes match a path,
literal segments win over constrained parameters, which win over plain ones, then catch-alls.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote


class RouteError(ValueError):
    pass


def _is_int(value: str) -> bool:
    return re.fullmatch(r"[+-]?\d+", value) is not None


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.strip().lower() not in {"nan", "inf", "-inf", "+inf", "infinity", "-infinity"}


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_SIMPLE: dict[str, Callable[[str], bool]] = {
    "int": lambda v: _is_int(v) and -(2**31) <= int(v) < 2**31,
    "long": lambda v: _is_int(v) and -(2**63) <= int(v) < 2**63,
    "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
    "bool": lambda v: v.lower() in {"true", "false"},
    "guid": _is_guid,
    "decimal": _is_float,
    "double": _is_float,
    "float": _is_float,
    "datetime": _is_datetime,
}


def _constraint(text: str, template: str) -> Callable[[str], bool]:
    name, _, rest = text.partition("(")
    name = name.strip().lower()
    if not rest:
        if name not in _SIMPLE:
            raise RouteError(f"route {template!r}: unsupported constraint {text!r}")
        return _SIMPLE[name]
    if not rest.endswith(")"):
        raise RouteError(f"route {template!r}: malformed constraint {text!r}")
    argument = rest[:-1]
    if name == "regex":
        pattern = re.compile(argument, re.IGNORECASE)
        return lambda v: pattern.search(v) is not None
    try:
        numbers = [int(part) for part in argument.split(",")]
    except ValueError as exc:
        raise RouteError(f"route {template!r}: bad argument in constraint {text!r}") from exc
    if name == "min" and len(numbers) == 1:
        return lambda v: _is_int(v) and int(v) >= numbers[0]
    if name == "max" and len(numbers) == 1:
        return lambda v: _is_int(v) and int(v) <= numbers[0]
    if name == "range" and len(numbers) == 2:
        return lambda v: _is_int(v) and numbers[0] <= int(v) <= numbers[1]
    if name == "length" and len(numbers) == 1:
        return lambda v: len(v) == numbers[0]
    if name == "length" and len(numbers) == 2:
        return lambda v: numbers[0] <= len(v) <= numbers[1]
    if name == "minlength" and len(numbers) == 1:
        return lambda v: len(v) >= numbers[0]
    if name == "maxlength" and len(numbers) == 1:
        return lambda v: len(v) <= numbers[0]
    raise RouteError(f"route {template!r}: unsupported constraint {text!r}")


def _split_constraints(text: str) -> list[str]:
    """``id:int:min(1)`` -> ``['id', 'int', 'min(1)']``; colons inside parentheses do not split."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == ":" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += char == "("
        depth -= char == ")"
        current.append(char)
    parts.append("".join(current))
    return parts


@dataclass
class _Param:
    name: str
    constraints: list[Callable[[str], bool]] = field(default_factory=list)
    optional: bool = False
    default: str | None = None
    catch_all: bool = False

    def accepts(self, value: str) -> bool:
        return all(check(value) for check in self.constraints)


@dataclass
class _Segment:
    parts: list[str | _Param]
    regex: re.Pattern[str]

    @property
    def params(self) -> list[_Param]:
        return [part for part in self.parts if isinstance(part, _Param)]

    @property
    def rank(self) -> int:
        params = self.params
        if not params:
            return 1
        if len(self.parts) > 1:
            return 2
        param = params[0]
        if param.catch_all:
            return 5
        return 3 if param.constraints else 4


def _parse_param(body: str, template: str) -> _Param:
    catch_all = body.startswith("*")
    body = body.lstrip("*")
    name_part, *constraint_texts = _split_constraints(body)
    default = None
    if "=" in name_part:
        name_part, default = name_part.split("=", 1)
    optional = name_part.endswith("?")
    name = name_part.rstrip("?").strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise RouteError(f"route {template!r}: bad parameter name {name!r}")
    if constraint_texts and constraint_texts[-1].endswith("?"):
        optional = True
        constraint_texts[-1] = constraint_texts[-1][:-1]
    return _Param(
        name=name,
        constraints=[_constraint(text, template) for text in constraint_texts],
        optional=optional or default is not None or catch_all,
        default=default,
        catch_all=catch_all,
    )


def _parse_segment(text: str, template: str) -> _Segment:
    """Literals and ``{parameters}``; ``{{`` and ``}}`` stand for literal braces, also in constraints."""
    parts: list[str | _Param] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("{{", i) or text.startswith("}}", i):
            literal.append(text[i])
            i += 2
        elif text[i] == "{":
            body: list[str] = []
            j = i + 1
            while j < len(text):
                if text.startswith("{{", j) or text.startswith("}}", j):
                    body.append(text[j])
                    j += 2
                elif text[j] == "}":
                    break
                elif text[j] == "{":
                    raise RouteError(f"route {template!r}: unbalanced braces in {text!r}")
                else:
                    body.append(text[j])
                    j += 1
            if j >= len(text):
                raise RouteError(f"route {template!r}: unbalanced braces in {text!r}")
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_parse_param("".join(body), template))
            i = j + 1
        elif text[i] == "}":
            raise RouteError(f"route {template!r}: unbalanced braces in {text!r}")
        else:
            literal.append(text[i])
            i += 1
    if literal:
        parts.append("".join(literal))
    pattern = "".join(re.escape(part) if isinstance(part, str) else f"(?P<{part.name}>.+?)" for part in parts)
    return _Segment(parts, re.compile(f"^{pattern}$", re.IGNORECASE | re.DOTALL))


@dataclass
class RouteTemplate:
    template: str
    segments: list[_Segment]

    @classmethod
    def parse(cls, template: str) -> RouteTemplate:
        cleaned = template.strip().strip("/")
        segments = [_parse_segment(text, template) for text in cleaned.split("/")] if cleaned else []
        names: set[str] = set()
        for index, segment in enumerate(segments):
            for param in segment.params:
                if param.name.lower() in names:
                    raise RouteError(f"route {template!r}: parameter {param.name!r} appears twice")
                names.add(param.name.lower())
                if param.catch_all and (index != len(segments) - 1 or len(segment.parts) > 1):
                    raise RouteError(f"route {template!r}: a catch-all must be the whole last segment")
                if param.optional and not param.catch_all and len(segment.parts) > 1:
                    raise RouteError(f"route {template!r}: optional parameters need their own segment")
        return cls(template, segments)

    @property
    def precedence(self) -> tuple[int, ...]:
        return (*(segment.rank for segment in self.segments), 9)

    def match(self, path_segments: list[str]) -> dict[str, str] | None:
        """Route values for a path split on ``/`` (still percent-encoded), or None."""
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            params = segment.params
            if len(params) == 1 and params[0].catch_all:
                rest = "/".join(unquote(part) for part in path_segments[index:])
                if rest:
                    if not params[0].accepts(rest):
                        return None
                    values[params[0].name] = rest
                elif params[0].default is not None:
                    values[params[0].name] = params[0].default
                return values
            if index >= len(path_segments):
                if len(params) == 1 and params[0].optional and len(segment.parts) == 1:
                    if params[0].default is not None:
                        values[params[0].name] = params[0].default
                    continue
                return None
            found = segment.regex.match(unquote(path_segments[index]))
            if found is None:
                return None
            for param in params:
                value = found.group(param.name)
                if not param.accepts(value):
                    return None
                values[param.name] = value
        if len(path_segments) > len(self.segments):
            return None
        return values
