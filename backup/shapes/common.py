"""The one decoding function every request shape goes through, and the types shapes share.

:func:`decode` turns a parsed JSON value into a shape (a ``msgspec.Struct``) and every refusal
msgspec can make into our :class:`~backup.errors.ValidationError` with the ARM error code the
API has always answered and the JSON path of the offending field as ``target``
(msgspec says ``... - at `$.policyRules[0].name```; the target is ``properties.policyRules[0].name``).

Property names and ``objectType`` discriminators match in any letter case, as Azure's service
matches them (:mod:`backup.shapes.casing`).

ARM treats ``null`` like an absent property, so a ``null`` where a value is required is
``MissingProperty``, as a missing one is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Final, NoReturn, TypeVar

import msgspec

from backup.errors import ValidationError
from backup.shapes.casing import canonicalize

T = TypeVar("T")

MISSING_PROPERTY: Final = "MissingProperty"
INVALID_REQUEST_CONTENT: Final = "InvalidRequestContent"
INVALID_PROPERTY_VALUE: Final = "InvalidPropertyValue"
UNSUPPORTED_OBJECT_TYPE: Final = "UnsupportedObjectType"


ArmId = Annotated[str, msgspec.Meta(max_length=2048, description="An ARM resource id.")]
Tags = Annotated[dict[str, str], msgspec.Meta(description="Resource tags: name to value.")]

_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")
_WRONG_TYPE = re.compile(r"^Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`$")
_BAD_VALUE = re.compile(r"^Invalid (?:enum )?value (?P<value>.*)$", re.DOTALL)
_JSON_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


CASE_INSENSITIVE_PATTERN: Final = "x-case-insensitive-pattern"
"""Where a CaseInsensitive value's pattern waits in msgspec's schema: a ``pattern`` msgspec itself
enforces (``\\S``) would overwrite it; :mod:`backup.shapes.schemas` publishes it as ``pattern``
(it implies the other: each value is non-blank)."""


class CaseInsensitive:
    """A string ARM compares case-insensitively: the shapes take any string and the converter asks
    :meth:`canonical` for its canonical spelling.

    JSON Schema has no case-insensitive ``enum`` (and ECMA regexes, OpenAPI's, no ``(?i)``), so the
    schema publishes a pattern spelled with character classes (``[oO][pP]...``) and names the
    canonical values in its description; :meth:`canonical` matches with that very pattern, so what
    the document says and what the API accepts cannot differ. ``padded`` values may carry
    surrounding white space (converters that strip it); ``comma_spaced`` ones may have spaces
    around their commas (``SystemAssigned, UserAssigned``).
    """

    def __init__(
        self,
        values: tuple[str, ...],
        *,
        padded: bool = True,
        comma_spaced: bool = False,
        description: str = "",
    ) -> None:
        self.values = values
        alternatives = "|".join(_character_classes(value, comma_spaced) for value in values)
        pad = r"\s*" if padded else ""
        self.pattern = f"^{pad}(?:{alternatives}){pad}$"
        self._compiled = [
            (re.compile(f"^{pad}{_character_classes(value, comma_spaced)}{pad}$"), value) for value in values
        ]
        listed = ", ".join(values)
        text = (
            f"One of {listed}, in any letter case." if len(values) > 1 else f"{listed}, in any letter case."
        )
        self.meta = msgspec.Meta(
            extra_json_schema={CASE_INSENSITIVE_PATTERN: self.pattern},
            description=f"{description} {text}".strip(),
        )

    def canonical(self, value: str) -> str | None:
        """The canonical spelling ``value`` stands for, or None when it is none of the values."""
        return next((canonical for pattern, canonical in self._compiled if pattern.fullmatch(value)), None)


def _character_classes(value: str, comma_spaced: bool) -> str:
    spelled = []
    for character in value:
        if comma_spaced and character == ",":
            spelled.append(" *, *")
        elif character.isascii() and character.isalpha() and character.lower() != character.upper():
            spelled.append(f"[{character.lower()}{character.upper()}]")
        else:
            spelled.append(re.escape(character))
    return "".join(spelled)


def member_object(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``body[key]``, which must be a JSON object (a resource's ``properties``, ...); absent is null.
    The name matches in any letter case, as every property name does (:mod:`backup.shapes.casing`)."""
    found = next((name for name in body if isinstance(name, str) and name.casefold() == key.casefold()), key)
    return decode(body.get(found), dict[str, Any], at=key)


def decode(
    value: object,
    shape: type[T],
    *,
    at: str = "",
    type_code: str = INVALID_REQUEST_CONTENT,
    type_codes: Mapping[str, str] | None = None,
    value_code: str = INVALID_PROPERTY_VALUE,
    value_codes: Mapping[str, str] | None = None,
) -> T:
    """``value`` as ``shape``, or a ValidationError naming the field (``at`` prefixes every target).

    A value of the wrong JSON type answers ``type_code`` (policies answer ``InvalidPropertyType``,
    other bodies ``InvalidRequestContent``), or the code ``type_codes`` gives the field's name
    (``resourceID`` -> ``InvalidResourceId``). A value outside its enum, pattern or length answers
    the code ``value_codes`` gives the field's name (``objectType`` -> ``UnsupportedObjectType``),
    else ``value_code``.
    """
    # Property names and discriminators in any letter case, renamed in place to the declared
    # spelling, so that what callers keep of the body afterwards is spelled canonically too.
    value = canonicalize(value, shape, at=at)
    try:
        return msgspec.convert(value, shape, strict=True)
    except msgspec.ValidationError as error:
        raise_refusal(
            str(error),
            at=at,
            type_code=type_code,
            type_codes=type_codes or {},
            value_code=value_code,
            value_codes=value_codes or {},
        )


def raise_refusal(
    text: str,
    *,
    at: str,
    type_code: str,
    type_codes: Mapping[str, str],
    value_code: str,
    value_codes: Mapping[str, str],
) -> NoReturn:
    """Raise the ValidationError for msgspec's refusal ``text`` (see :func:`decode`)."""
    found = _AT.match(text)
    assert found is not None  # the pattern matches any text
    what, json_path = found["what"], found["path"] or ""
    target = join(at, json_path)
    if missing := _MISSING.match(what):
        field = join(target, missing["field"])
        fail(MISSING_PROPERTY, field, f"'{field}' is required.")
    if unknown := _UNKNOWN.match(what):
        field = join(target, unknown["field"])
        fail(INVALID_REQUEST_CONTENT, field, f"'{field}' is not a property of this object.")
    quoted = f"'{target}'" if target else "The request content"
    name = _last_field(json_path)
    if wrong := _WRONG_TYPE.match(what):
        if wrong["got"] in ("null", "NoneType"):  # msgspec names a null tag NoneType
            fail(MISSING_PROPERTY, target, f"{quoted} is required.")
        expected = _JSON_WORDS.get(wrong["expected"], wrong["expected"])
        got = _JSON_WORDS.get(wrong["got"], wrong["got"])
        fail(type_codes.get(name, type_code), target, f"{quoted} must be {expected}, not {got}.")
    code = value_codes.get(name, value_code)
    if bad := _BAD_VALUE.match(what):
        fail(code, target, f"{quoted} does not take the value {bad['value'][:200]}.")
    if what.startswith("Expected `"):
        fail(code, target, f"{quoted} is out of range: {what.replace('`', '')[:200]}.")
    fail(INVALID_REQUEST_CONTENT, target, f"{quoted} is invalid: {what[:200]}.")


def fail(code: str, target: str, message: str) -> NoReturn:
    raise ValidationError(message, code=code, target=target or None)


def join(base: str, tail: str) -> str:
    """A target path: ``properties`` + ``.a[0]`` -> ``properties.a[0]``; ``""`` + ``.a`` -> ``a``."""
    base = base.rstrip(".")
    if not tail:
        return base
    if not tail.startswith((".", "[")):
        tail = "." + tail
    return (base + tail).lstrip(".")


def _last_field(json_path: str) -> str:
    fields = re.findall(r"\.([^.\[]+)", json_path)
    return fields[-1] if fields else ""
