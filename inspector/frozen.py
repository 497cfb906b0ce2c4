"""Frozen data classes without the per-class code generation of ``dataclasses``.

``@dataclass(frozen=True)`` compiles six methods (``__init__``, ``__repr__``,
``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``) with ``exec`` when
the class is defined: about half a millisecond a class on Python 3.11, and
the probe's import path defines over a hundred of them. :func:`frozen` keeps
what dataclasses give (``fields()``, ``replace()``, ``asdict()``,
``is_dataclass()``, ``field(repr=False)``, ``field(compare=False)``,
defaults and factories, ``__post_init__``, ``FrozenInstanceError``) but
compares, hashes and prints with shared functions, and compiles a class's
``__init__`` only when its first instance is made.
The compiled ``__init__`` stores the fields straight into the instance's
``__dict__``, so the parsers' per-line and per-event objects cost no
``object.__setattr__`` call per field either.
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter

FrozenInstanceError = dataclasses.FrozenInstanceError


def frozen(cls=None, /, *, repr: bool = True):  # noqa: A002 (the dataclass keyword)
    """``@frozen`` or ``@frozen(repr=False)``: a frozen data class, equal and hashed by its fields."""
    def wrap(klass):
        if klass.__doc__ is None:   # else dataclasses builds one with inspect.signature (slow)
            klass.__doc__ = f"{klass.__name__}({', '.join(klass.__dict__.get('__annotations__', ()))})"
        klass = dataclasses.dataclass(klass, init=False, repr=False, eq=False)
        _install(klass, with_repr=repr)
        return klass
    return wrap if cls is None else wrap(cls)


def _key(names: tuple[str, ...]):
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names)


def _install(cls, *, with_repr: bool) -> None:
    own = cls.__dict__
    if "__setattr__" in own or "__delattr__" in own:
        raise TypeError(f"{cls.__name__}: a frozen class cannot define __setattr__ or __delattr__")
    fields = dataclasses.fields(cls)
    cls.__frozen_repr__ = tuple(f.name for f in fields if f.repr)
    cls.__frozen_key__ = staticmethod(_key(tuple(f.name for f in fields if f.compare)))
    cls.__frozen_hash_key__ = staticmethod(_key(tuple(
        f.name for f in fields if (f.compare if f.hash is None else f.hash))))
    if "__init__" not in own:
        cls.__init__ = _first_init
    if with_repr and "__repr__" not in own:
        cls.__repr__ = _repr
    if "__eq__" not in own:
        cls.__eq__ = _eq
    if own.get("__hash__") is None:     # absent, or None because the body defines __eq__
        cls.__hash__ = _hash
    cls.__setattr__ = _frozen_setattr
    cls.__delattr__ = _frozen_delattr


def _first_init(self, *args, **kwargs):
    """Compile the class's ``__init__`` (RFC-free plumbing: once per class), install it, run it."""
    owner = next(klass for klass in type(self).__mro__ if klass.__dict__.get("__init__") is _first_init)
    init = _compile_init(owner)
    type.__setattr__(owner, "__init__", init)
    init(self, *args, **kwargs)


_FACTORY = object()     # the parameter default that means "call the field's default_factory"


def _compile_init(cls):
    params, body = [], []
    scope = {"_FACTORY": _FACTORY, "_set": object.__setattr__}
    slotted = "__slots__" in cls.__dict__
    for f in dataclasses.fields(cls):
        name = f.name
        has_factory = f.default_factory is not dataclasses.MISSING
        if has_factory:
            scope[f"_factory_{name}"] = f.default_factory
        if f.init:
            if has_factory:
                params.append(f"{name}=_FACTORY")
                value = f"_factory_{name}() if {name} is _FACTORY else {name}"
            elif f.default is not dataclasses.MISSING:
                scope[f"_default_{name}"] = f.default
                params.append(f"{name}=_default_{name}")
                value = name
            else:
                params.append(name)
                value = name
        elif has_factory:
            value = f"_factory_{name}()"
        elif f.default is not dataclasses.MISSING:
            scope[f"_default_{name}"] = f.default
            value = f"_default_{name}"
        else:
            continue
        body.append(f"    _set(self, {name!r}, {value})" if slotted else f"    d[{name!r}] = {value}")
    if not slotted and body:
        body.insert(0, "    d = self.__dict__")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, scope)  # noqa: S102 (source built from the class's own field names)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _repr(self) -> str:
    cls = type(self)
    return f"{cls.__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in cls.__frozen_repr__)})"


def _eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    key = self.__frozen_key__
    return key(self) == key(other)


def _hash(self) -> int:
    return hash(self.__frozen_hash_key__(self))


def _frozen_setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")
