"""A cheaper constructor for the frozen dataclasses built once per line, reply or event.

A frozen dataclass's ``__init__`` sets each field with ``object.__setattr__``
(one call per field, to get past the frozen ``__setattr__``); the parsers
build a dozen such objects per SMTP session. :func:`constructor` returns a
function that builds the very same object (same class, same ``__dict__``,
equal, hashable, repr'd alike) by setting its ``__dict__`` in one step. It
takes every field positionally and runs no ``__post_init__``: use it only for
plain data classes without one.
"""

from __future__ import annotations

import dataclasses


def constructor(cls):
    """``make(*fields)`` for the frozen dataclass ``cls``: every field, positionally, in order."""
    if hasattr(cls, "__post_init__") or not dataclasses.is_dataclass(cls) or hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__}: not a plain dataclass")
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    if not all(name.isidentifier() for name in names):   # pragma: no cover (dataclass ensures it)
        raise TypeError(f"{cls.__name__}: odd field names")
    args = ", ".join(names)
    body = ", ".join(f"{name!r}: {name}" for name in names)
    source = (f"def make({args}):\n"
              f"    obj = new(cls)\n"
              f"    set_dict(obj, '__dict__', {{{body}}})\n"
              f"    return obj\n")
    scope = {"new": object.__new__, "set_dict": object.__setattr__, "cls": cls}
    exec(source, scope)  # noqa: S102 (source built from the dataclass's own field names)
    make = scope["make"]
    make.__doc__ = f"A {cls.__name__} from its fields, positionally (see inspector.frozen)."
    return make
