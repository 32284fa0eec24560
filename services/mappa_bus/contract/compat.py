"""The compatibility rule, as a schema registry enforces it.

A published event version may only gain optional fields. Anything else (a field removed, a field
newly required or no longer required, a type, format, pattern, bound, default, const or enum
changed, an alternative added or dropped) breaks a producer or a consumer written against the
published schema, and needs a new version: a new class with the next `VERSION`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]
Change = tuple[str, str]  # (where, what)

# Words that explain a schema without constraining any instance: free to change.
_ANNOTATIONS = frozenset({"title", "description", "examples", "$comment"})
# Compared by their own rules below rather than as plain values.
_STRUCTURAL = frozenset(
    {"properties", "required", "enum", "$defs", "items", "additionalProperties", "not"}
    | {"anyOf", "oneOf", "allOf", "prefixItems"}
)
_ONE_SUBSCHEMA = {"items": "[*]", "additionalProperties": ".*", "not": ".not"}
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def breaking_changes(old_schema: JsonObject, new_schema: JsonObject) -> list[str]:
    """Every change from `old_schema` to `new_schema` that the rule forbids, as messages
    `<type>: <path>: <what>`; empty when the new schema only adds optional fields."""
    label = old_schema.get("title") or old_schema.get("$id") or "(schema)"
    walk = _Walk(old_schema, new_schema)
    return [f"{label}: {where}: {what}" for where, what in walk.compare(old_schema, new_schema)]


@dataclass
class _Walk:
    """Both schemas walked side by side. `$ref`s are followed into `$defs` as they are met, so
    a definition is judged where it is used and messages name the field, not the definition."""

    old_root: JsonObject
    new_root: JsonObject
    # Pairs of references being compared further up: a recursive definition stops there.
    active: set[tuple[str | None, str | None]] = field(default_factory=set)

    def compare(self, old: Any, new: Any, path: str = "$") -> Iterator[Change]:
        refs = (_ref(old), _ref(new))
        if refs != (None, None):
            if refs in self.active:
                return
            self.active.add(refs)
        try:
            yield from self._compare_resolved(
                _resolved(old, self.old_root), _resolved(new, self.new_root), path
            )
        finally:
            self.active.discard(refs)

    def _compare_resolved(self, old: Any, new: Any, path: str) -> Iterator[Change]:
        if not (isinstance(old, dict) and isinstance(new, dict)):
            if old != new:
                yield path, f"schema changed from {_show(old)} to {_show(new)}"
            return
        yield from _keywords(old, new, path)
        yield from _enum(old, new, path)
        yield from _required(old, new, path)
        yield from self._properties(old, new, path)
        yield from self._subschemas(old, new, path)

    def _properties(self, old: JsonObject, new: JsonObject, path: str) -> Iterator[Change]:
        old_properties = old.get("properties", {})
        new_properties = new.get("properties", {})
        for name, old_property in old_properties.items():
            if name not in new_properties:
                yield path, f"property `{name}` removed"
            else:
                yield from self.compare(old_property, new_properties[name], f"{path}.{name}")

    def _subschemas(self, old: JsonObject, new: JsonObject, path: str) -> Iterator[Change]:
        for keyword, step in _ONE_SUBSCHEMA.items():
            if keyword in old and keyword in new:
                yield from self.compare(old[keyword], new[keyword], path + step)
            else:
                yield from _presence(old, new, keyword, path)
        for keyword in _SUBSCHEMA_LISTS:
            yield from self._alternatives(old, new, keyword, path)

    def _alternatives(
        self, old: JsonObject, new: JsonObject, keyword: str, path: str
    ) -> Iterator[Change]:
        if keyword not in old or keyword not in new:
            yield from _presence(old, new, keyword, path)
            return
        if len(old[keyword]) != len(new[keyword]):
            yield (
                path,
                (f"`{keyword}` changed from {len(old[keyword])} to {len(new[keyword])} schemas"),
            )
            return
        for index, (old_branch, new_branch) in enumerate(
            zip(old[keyword], new[keyword], strict=True)
        ):
            yield from self.compare(old_branch, new_branch, f"{path}.{keyword}[{index}]")


def _keywords(old: JsonObject, new: JsonObject, path: str) -> Iterator[Change]:
    """Every other keyword must keep its exact value: type, format, pattern, bounds, const,
    default, and whatever a later draft adds."""
    for keyword in sorted((old.keys() | new.keys()) - _ANNOTATIONS - _STRUCTURAL):
        if keyword not in old or keyword not in new:
            yield from _presence(old, new, keyword, path)
        elif old[keyword] != new[keyword]:
            yield path, (f"`{keyword}` changed from {_show(old[keyword])} to {_show(new[keyword])}")


def _presence(old: JsonObject, new: JsonObject, keyword: str, path: str) -> Iterator[Change]:
    if keyword in old and keyword not in new:
        yield path, f"`{keyword}` removed (was {_show(old[keyword])})"
    elif keyword in new and keyword not in old:
        yield path, f"`{keyword}` added ({_show(new[keyword])})"


def _enum(old: JsonObject, new: JsonObject, path: str) -> Iterator[Change]:
    if "enum" not in old or "enum" not in new:
        yield from _presence(old, new, "enum", path)
        return
    dropped = [value for value in old["enum"] if value not in new["enum"]]
    added = [value for value in new["enum"] if value not in old["enum"]]
    if dropped:
        yield path, f"enum narrowed: no longer allows {_show_all(dropped)}"
    if added:
        # A consumer that handles every value it was promised has no branch for a new one.
        yield path, f"enum widened: now also allows {_show_all(added)}"


def _required(old: JsonObject, new: JsonObject, path: str) -> Iterator[Change]:
    old_required = set(old.get("required", ()))
    new_required = set(new.get("required", ()))
    for name in sorted(new_required - old_required):
        yield path, f"property `{name}` is newly required (only optional fields may be added)"
    for name in sorted(old_required - new_required):
        if name in new.get("properties", {}):
            yield path, f"property `{name}` is no longer required (consumers rely on it)"


def _ref(node: Any) -> str | None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        return ref if isinstance(ref, str) else None
    return None


def _resolved(node: Any, root: JsonObject) -> Any:
    """`node` with a local `$ref` replaced by its target, the node's own keywords on top (as
    pydantic writes them: a description or default beside the reference)."""
    ref = _ref(node)
    target = _lookup(root, ref) if ref else None
    if target is None:
        return node
    return {**target, **{key: value for key, value in node.items() if key != "$ref"}}


def _lookup(root: JsonObject, ref: str) -> JsonObject | None:
    """The target of a same-document JSON pointer such as `#/$defs/Area`, else None (so an
    unresolvable reference is compared as a plain value)."""
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _show_all(values: list[Any]) -> str:
    return ", ".join(_show(value) for value in values)
