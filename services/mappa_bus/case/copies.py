"""The case models made and copied without validating again, for the fold. Pure: no I/O.

The fold builds every value of a picture from models pydantic has already validated (the
events' payloads, the picture before), so validating them again bought nothing and was a large
part of its cost: the fold makes several models an event, and every event makes a timeline
entry (issue 17, docs/benchmarks.md). What these make is what `model_copy(update=)` and the
validated constructor make of the same values: a unit test holds them to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TypeVar

from pydantic import BaseModel

_Model = TypeVar("_Model", bound=BaseModel)
_set = object.__setattr__
# Stands for "no default" among a model's fields: the field must be given.
_REQUIRED = object()


def replaced(model: _Model, changes: Mapping[str, object]) -> _Model:
    """`model` with `changes`, as `model_copy(update=changes)` makes it, at half the cost."""
    copied = model.__class__.__new__(model.__class__)
    _set(copied, "__dict__", {**model.__dict__, **changes})
    fields_set = model.__pydantic_fields_set__
    if not fields_set.issuperset(changes):
        fields_set = fields_set | changes.keys()
    # Shared when nothing new is set: a frozen model's set is never changed in place.
    _set(copied, "__pydantic_fields_set__", fields_set)
    _set(copied, "__pydantic_extra__", None)
    _set(copied, "__pydantic_private__", None)
    return copied


def built(cls: type[_Model], values: Mapping[str, object]) -> _Model:
    """A `cls` of `values` and its other fields' defaults, as `cls(**values)` makes it from
    values already valid, without validating them again. A field missing or unknown is a
    TypeError, as the constructor's would be a ValidationError: a slip here is a bug."""
    fields = _fields(cls)
    unknown = values.keys() - fields.keys()
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
    state = {name: values.get(name, default) for name, default in fields.items()}
    missing = [name for name, value in state.items() if value is _REQUIRED]
    if missing:
        raise TypeError(f"{cls.__name__} needs {', '.join(missing)}")
    made = cls.__new__(cls)
    _set(made, "__dict__", state)
    _set(made, "__pydantic_fields_set__", set(values))
    _set(made, "__pydantic_extra__", None)
    _set(made, "__pydantic_private__", None)
    return made


@cache
def _fields(cls: type[BaseModel]) -> dict[str, object]:
    """`cls`'s fields in their order, each with its default (`_REQUIRED`: none). The case
    models' defaults are immutable (None, tuples, enum members), so one object serves all."""
    fields: dict[str, object] = {}
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            raise TypeError(f"{cls.__name__}.{name} has a default factory: build it validated")
        fields[name] = _REQUIRED if info.is_required() else info.default
    return fields
