"""Property names and ``objectType`` discriminators as Azure's service matches them: in any case.

Azure's own documents spell one property two ways (the disk restore walkthrough sends
``restoreTargetInfo.dataSourceInfo`` and ``"objectType": "restoreTargetInfo"`` where the REST
reference says ``datasourceInfo`` and ``RestoreTargetInfo``), and the service takes both.
:func:`canonicalize` renames a parsed JSON body's keys, in place, to the spelling the shape
declares, and does the same for the values of ``Literal`` fields and tagged-union tags (the
``objectType`` discriminators). :func:`backup.shapes.common.decode` calls it before msgspec
sees the body, so every shape is matched this way and the documents the product stores and
echoes (policies, instance properties) carry the declared spelling.

Free-form maps (tags, ``featureSettings``) keep their keys as sent. A body that spells one
property twice (``datasourceInfo`` and ``dataSourceInfo``) is refused: ARM would pick one.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from msgspec import inspect

from backup.errors import ValidationError

INVALID_REQUEST_CONTENT = "InvalidRequestContent"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(text: str) -> str:
    """Letter case folded for ASCII only, as :class:`~backup.shapes.common.CaseInsensitive` does
    (``str.casefold`` would make the Kelvin sign a ``k``)."""
    return text.translate(_ASCII_LOWER)


def canonicalize(value: Any, shape: Any, *, at: str = "") -> Any:
    """``value`` with its keys and discriminators spelled as ``shape`` declares them; dicts and
    lists are changed in place (the returned value is ``value`` unless it is a bare string)."""
    return _walk(value, _info(shape), at.rstrip("."))


@cache
def _info(shape: Any) -> inspect.Type:
    return inspect.type_info(shape)


def _walk(value: Any, info: inspect.Type, at: str) -> Any:
    while isinstance(info, inspect.Metadata):
        info = info.type
    if isinstance(info, inspect.StructType):
        if isinstance(value, dict):
            _rename_struct(value, info, at)
        return value
    if isinstance(info, inspect.UnionType):
        return _walk_union(value, info, at)
    if isinstance(info, inspect.LiteralType):
        return _literal(value, info.values)
    if isinstance(info, (inspect.ListType, inspect.SetType, inspect.FrozenSetType, inspect.VarTupleType)):
        if isinstance(value, list):
            for index, item in enumerate(value):
                value[index] = _walk(item, info.item_type, f"{at}[{index}]")
        return value
    if isinstance(info, inspect.DictType):
        if isinstance(value, dict):
            for key in value:
                value[key] = _walk(value[key], info.value_type, _join(at, str(key)))
        return value
    return value


def _rename_struct(value: dict[str, Any], info: inspect.StructType, at: str) -> None:
    declared = {_fold(field.encode_name): field for field in info.fields}
    if info.tag_field is not None:
        _rename_keys(value, {_fold(info.tag_field): info.tag_field}, at)
    _rename_keys(value, {name: field.encode_name for name, field in declared.items()}, at)
    if info.tag_field is not None and isinstance(info.tag, str):
        value[info.tag_field] = _literal(value.get(info.tag_field), (info.tag,))
    for field in info.fields:
        if field.encode_name in value:
            name = field.encode_name
            value[name] = _walk(value[name], field.type, _join(at, name))


def _rename_keys(value: dict[str, Any], spellings: dict[str, str], at: str) -> None:
    renamed: list[tuple[str, Any]] = []
    seen: dict[str, str] = {}
    for key, item in value.items():
        canonical = spellings.get(_fold(key), key) if isinstance(key, str) else key
        if canonical in seen:
            first = seen[canonical]
            raise ValidationError(
                f"'{_join(at, first)}' and '{_join(at, key)}' are the same property (names are "
                "matched in any letter case); send it once.",
                code=INVALID_REQUEST_CONTENT,
                target=_join(at, canonical),
            )
        seen[canonical] = key
        renamed.append((canonical, item))
    if any(old != new for old, (new, _) in zip(value, renamed, strict=True)):
        value.clear()
        value.update(renamed)


def _walk_union(value: Any, info: inspect.UnionType, at: str) -> Any:
    members = [_unwrap(member) for member in info.types]
    if isinstance(value, dict):
        structs = [member for member in members if isinstance(member, inspect.StructType)]
        tagged = [member for member in structs if member.tag_field is not None]
        if tagged:
            return _walk_tagged(value, tagged, at)
        if len(structs) == 1:
            return _walk(value, structs[0], at)
        maps = [member for member in members if isinstance(member, inspect.DictType)]
        return _walk(value, maps[0], at) if len(maps) == 1 else value
    if isinstance(value, str):
        literals = tuple(
            literal
            for member in members
            if isinstance(member, inspect.LiteralType)
            for literal in member.values
        )
        return _literal(value, literals) if literals else value
    if isinstance(value, list):
        lists = [member for member in members if isinstance(member, inspect.ListType)]
        return _walk(value, lists[0], at) if len(lists) == 1 else value
    return value


def _walk_tagged(value: dict[str, Any], members: list[inspect.StructType], at: str) -> dict[str, Any]:
    tag_field = members[0].tag_field
    assert tag_field is not None
    _rename_keys(value, {_fold(tag_field): tag_field}, at)
    tag = value.get(tag_field)
    if isinstance(tag, str):
        for member in members:
            if isinstance(member.tag, str) and _fold(member.tag) == _fold(tag):
                value[tag_field] = member.tag
                _rename_struct(value, member, at)
                break
    return value


def _literal(value: Any, values: tuple[Any, ...]) -> Any:
    if not isinstance(value, str) or value in values:
        return value
    return next(
        (choice for choice in values if isinstance(choice, str) and _fold(choice) == _fold(value)),
        value,
    )


def _unwrap(info: inspect.Type) -> inspect.Type:
    while isinstance(info, inspect.Metadata):
        info = info.type
    return info


def _join(at: str, name: str) -> str:
    return f"{at}.{name}" if at else name
