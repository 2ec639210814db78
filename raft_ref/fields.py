"""Copying an object whose fields are declared once, as its annotations (`__slots__`).

A class lists its fields once, as annotations, and derives `__slots__` from them
(`__slots__ = tuple(__annotations__)`). `field_copier` derives the copy: every field is
shared (it holds an immutable value, or one never mutated once stored) unless it is
named with the function that copies it, or with `CLONE` (its own `clone()`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["CLONE", "field_copier"]

T = TypeVar("T")

# Copy the field by its value's own `clone()` (None stays None).
CLONE = "clone"


def field_copier(
    cls: type[T], copied: Mapping[str, Callable[[Any], Any] | str]
) -> Callable[[T], T]:
    """A function copying an instance of `cls` field by field: the fields in `copied`
    through their function (or `clone()`), every other field of `cls.__slots__` shared.

    The function is compiled from the field list, as `dataclasses` compiles `__init__`,
    so that it runs as fast as the same assignments written out by hand (a loop over
    the fields is about eight times slower, and explorers copy nodes millions of times).
    """
    fields: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]
    unknown = set(copied) - set(fields)
    if unknown:
        raise TypeError(f"{cls.__name__} has no fields {sorted(unknown)}")
    namespace: dict[str, Any] = {"cls": cls, "new": object.__new__}
    lines = ["def copy(self):", "    copy = new(cls)"]
    for name in fields:
        how = copied.get(name)
        if how == CLONE:
            lines.append(f"    copy.{name} = None if (v := self.{name}) is None else v.clone()")
        elif how is not None:
            namespace[f"copy_{name}"] = how
            lines.append(f"    copy.{name} = copy_{name}(self.{name})")
        else:
            lines.append(f"    copy.{name} = self.{name}")
    lines.append("    return copy")
    exec("\n".join(lines), namespace)
    copy: Callable[[T], T] = namespace["copy"]
    copy.__qualname__ = f"{cls.__qualname__}.copy"
    return copy
