"""Data classes without ``dataclasses``: :func:`frozen` (immutable) and :func:`mutable` records.

Importing ``dataclasses`` costs a command's start-up about 20 ms on Python 3.11
(it pulls in ``inspect``, ``ast``, ``dis`` and ``tokenize``), and
``@dataclass(frozen=True)`` compiles six methods with ``exec`` per class when it
is defined. This module keeps what the package uses of dataclasses, with the
same semantics: fields from the class's own ``__annotations__`` and those of
its data-class bases in MRO order, defaults, :func:`field` (``default``,
``default_factory``, ``init``, ``repr``, ``compare``, ``hash``),
``__post_init__``, ``__match_args__``, :func:`fields`, :func:`replace`,
:func:`asdict`, :func:`is_frozen` and :class:`FrozenInstanceError`. Classes
compare, hash and print with shared functions; their first instances are made by
one generic ``__init__`` and a class compiles its own only at its
``COMPILE_AT``-th instance (most classes make one or two per command); the
compiled ``__init__`` stores the fields straight into the instance's
``__dict__`` (no ``object.__setattr__`` call per field). :func:`replace` and
:func:`asdict` also accept the instances of classes made by ``dataclasses``
(tests and tools still define some).
"""

from __future__ import annotations

import sys
from operator import attrgetter


class FrozenInstanceError(AttributeError):
    """An assignment to, or deletion of, a field of a frozen instance."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()    #: "no default" (dataclasses.MISSING's role)


class Field:
    """One field: its name and type (the annotation's text), default or factory, and flags."""

    __slots__ = ("name", "type", "default", "default_factory", "init", "repr", "hash", "compare")

    def __init__(self, default, default_factory, init, repr, hash, compare):  # noqa: A002
        self.name = self.type = None
        self.default, self.default_factory = default, default_factory
        self.init, self.repr, self.hash, self.compare = init, repr, hash, compare

    def __repr__(self) -> str:
        return (f"Field(name={self.name!r}, default={self.default!r}, "
                f"default_factory={self.default_factory!r}, init={self.init}, repr={self.repr}, "
                f"hash={self.hash}, compare={self.compare})")


def field(*, default=MISSING, default_factory=MISSING, init: bool = True, repr: bool = True,  # noqa: A002
          hash: bool | None = None, compare: bool = True) -> Field:  # noqa: A002
    """A field with options, as ``dataclasses.field``: a default or a factory, not both."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, init, repr, hash, compare)


def frozen(cls=None, /, *, repr: bool = True):  # noqa: A002 (the dataclass keyword)
    """``@frozen`` or ``@frozen(repr=False)``: an immutable data class, equal and hashed by its fields."""
    def wrap(klass):
        _install(klass, with_repr=repr, immutable=True)
        return klass
    return wrap if cls is None else wrap(cls)


def mutable(cls=None, /, *, repr: bool = True, eq: bool = True):  # noqa: A002
    """``@mutable``: a data class whose fields can be assigned (``@dataclass``): equal by its fields and
    unhashable, or with ``eq=False`` equal by identity and hashable."""
    def wrap(klass):
        _install(klass, with_repr=repr, immutable=False, with_eq=eq)
        return klass
    return wrap if cls is None else wrap(cls)


def is_frozen(obj) -> bool:
    """Whether ``obj`` is a class made by :func:`frozen` or :func:`mutable`, or an instance of one."""
    cls = obj if isinstance(obj, type) else type(obj)
    return hasattr(cls, "__frozen_fields__")


def fields(class_or_instance) -> tuple[Field, ...]:
    """The fields in order: inherited ones first (MRO order), then the class's own."""
    cls = class_or_instance if isinstance(class_or_instance, type) else type(class_or_instance)
    try:
        return tuple(cls.__frozen_fields__.values())
    except AttributeError:
        raise TypeError(f"{cls.__name__} is not a frozen or mutable data class") from None


def replace(obj, /, **changes):
    """A new instance with ``changes`` applied; fields with ``init=False`` are built again, not copied."""
    cls = type(obj)
    own = getattr(cls, "__frozen_fields__", None)
    if own is None:
        dataclasses = sys.modules.get("dataclasses")
        if dataclasses is not None and dataclasses.is_dataclass(obj):
            return dataclasses.replace(obj, **changes)
        raise TypeError("replace() should be called on data class instances")
    for name, f in own.items():
        if not f.init:
            if name in changes:
                raise ValueError(f"field {name} is declared with init=False, "
                                 "it cannot be specified with replace()")
        elif name not in changes:
            changes[name] = getattr(obj, name)
    return cls(**changes)


#: Values that ``copy.deepcopy`` would return unchanged.
_ATOMIC = frozenset({type(None), bool, int, float, complex, str, bytes})


def asdict(obj) -> dict:
    """The fields as a dict, recursively (data classes, lists, tuples, dicts); other values deep-copied."""
    if isinstance(obj, type) or not (is_frozen(obj) or _is_dataclass_instance(obj)):
        raise TypeError("asdict() should be called on data class instances")
    return _asdict(obj)


def _is_dataclass_instance(obj) -> bool:
    return hasattr(type(obj), "__dataclass_fields__") and "dataclasses" in sys.modules


def _asdict(obj):
    cls = type(obj)
    if cls in _ATOMIC:
        return obj
    own = getattr(cls, "__frozen_fields__", None)
    if own is not None and not isinstance(obj, type):
        return {name: _asdict(getattr(obj, name)) for name in own}
    if not isinstance(obj, type) and _is_dataclass_instance(obj):
        return {f.name: _asdict(getattr(obj, f.name)) for f in sys.modules["dataclasses"].fields(obj)}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return cls(*[_asdict(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return cls(_asdict(v) for v in obj)
    if isinstance(obj, dict):
        return cls((_asdict(k), _asdict(v)) for k, v in obj.items())
    import copy
    return copy.deepcopy(obj)


def _key(names: tuple[str, ...]):
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names)


def _is_class_var(annotation) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__qualname__", "")
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _collect_fields(cls) -> dict[str, Field]:
    """Inherited fields (data-class bases, in reverse MRO order) then the class's own annotations."""
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        inherited = base.__dict__.get("__frozen_fields__")
        if inherited:
            found.update(inherited)
    own = cls.__dict__
    annotations = own.get("__annotations__", {})
    for name, annotation in annotations.items():
        if _is_class_var(annotation):
            continue
        value = own.get(name, MISSING)
        if isinstance(value, Field):
            f = value
            if f.default is MISSING:
                delattr(cls, name)      # the class keeps the default only, as dataclasses do
            else:
                setattr(cls, name, f.default)
        else:
            f = Field(value, MISSING, True, True, None, True)
        if f.default is not MISSING and type(f.default).__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: "
                             "use default_factory")
        f.name, f.type = name, annotation
        found[name] = f
    for name, value in own.items():
        if isinstance(value, Field) and name not in annotations:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    return found


def _install(cls, *, with_repr: bool, immutable: bool, with_eq: bool = True) -> None:
    own = cls.__dict__
    if immutable and ("__setattr__" in own or "__delattr__" in own):
        raise TypeError(f"{cls.__name__}: a frozen class cannot define __setattr__ or __delattr__")
    if cls.__doc__ is None:
        cls.__doc__ = f"{cls.__name__}({', '.join(own.get('__annotations__', ()))})"
    found = _collect_fields(cls)
    if "__init__" not in own:
        defaulted = None
        for f in found.values():
            if not f.init:
                continue
            if f.default is MISSING and f.default_factory is MISSING:
                if defaulted is not None:
                    raise TypeError(f"non-default argument {f.name!r} follows default argument")
            else:
                defaulted = f.name
        cls.__init__ = _first_init
    cls.__frozen_fields__ = found
    cls.__frozen_repr__ = tuple(f.name for f in found.values() if f.repr)
    cls.__frozen_key__ = staticmethod(_key(tuple(f.name for f in found.values() if f.compare)))
    if "__match_args__" not in own:
        cls.__match_args__ = tuple(f.name for f in found.values() if f.init)
    if with_repr and "__repr__" not in own:
        cls.__repr__ = _repr
    if with_eq and "__eq__" not in own:
        cls.__eq__ = _eq
    if immutable:
        cls.__frozen_hash_key__ = staticmethod(_key(tuple(
            f.name for f in found.values() if (f.compare if f.hash is None else f.hash))))
        if own.get("__hash__") is None:     # absent, or None because the body defines __eq__
            cls.__hash__ = _hash
        cls.__setattr__ = _frozen_setattr
        cls.__delattr__ = _frozen_delattr
    elif with_eq and own.get("__hash__") is None:
        cls.__hash__ = None                 # eq without frozen: unhashable, as @dataclass


#: The instance of a class that compiles its ``__init__`` (~30 us); the ones before it run
#: :func:`_generic_init` (a few us each). Most classes make one or two instances per command.
COMPILE_AT = 4
_made: dict[type, int] = {}


def _first_init(self, *args, **kwargs):
    """Until a class's COMPILE_AT-th instance: the generic ``__init__``; then compile its own, install it."""
    owner = next(klass for klass in type(self).__mro__ if klass.__dict__.get("__init__") is _first_init)
    made = _made.get(owner, 0) + 1
    if made < COMPILE_AT:
        _generic_init(owner, self, args, kwargs)
        _made[owner] = made             # a refused call (TypeError) does not count
        return
    init = _compile_init(owner)
    type.__setattr__(owner, "__init__", init)
    init(self, *args, **kwargs)


def _generic_init(cls, self, args, kwargs) -> None:
    """What the compiled ``__init__`` does, interpreted from the fields (same values, same errors)."""
    found = cls.__frozen_fields__
    params = [name for name, f in found.items() if f.init]
    where = f"{cls.__qualname__}.__init__()"
    if len(args) > len(params):
        raise TypeError(f"{where} takes {len(params) + 1} positional arguments "
                        f"but {len(args) + 1} were given")
    given = dict(zip(params, args, strict=False))     # fewer args than params: the rest by keyword
    for name, value in kwargs.items():
        if name not in found or not found[name].init:
            raise TypeError(f"{where} got an unexpected keyword argument {name!r}")
        if name in given:
            raise TypeError(f"{where} got multiple values for argument {name!r}")
        given[name] = value
    missing = [name for name in params if name not in given
               and found[name].default is MISSING and found[name].default_factory is MISSING]
    if missing:
        raise TypeError(f"{where} missing {len(missing)} required argument(s): "
                        f"{', '.join(map(repr, missing))}")
    slotted = "__slots__" in cls.__dict__
    store = self.__dict__ if not slotted else None
    for name, f in found.items():
        if name in given:
            value = given[name]
        elif f.default_factory is not MISSING:
            value = f.default_factory()
        elif f.default is not MISSING:
            value = f.default
        else:
            continue
        if slotted:
            object.__setattr__(self, name, value)
        else:
            store[name] = value
    if hasattr(cls, "__post_init__"):
        self.__post_init__()


_FACTORY = object()     # the parameter default that means "call the field's default_factory"


def _compile_init(cls):
    params, body = [], []
    scope = {"_FACTORY": _FACTORY, "_set": object.__setattr__}
    slotted = "__slots__" in cls.__dict__
    for f in cls.__frozen_fields__.values():
        name = f.name
        has_factory = f.default_factory is not MISSING
        if has_factory:
            scope[f"_factory_{name}"] = f.default_factory
        if f.init:
            if has_factory:
                params.append(f"{name}=_FACTORY")
                value = f"_factory_{name}() if {name} is _FACTORY else {name}"
            elif f.default is not MISSING:
                scope[f"_default_{name}"] = f.default
                params.append(f"{name}=_default_{name}")
                value = name
            else:
                params.append(name)
                value = name
        elif has_factory:
            value = f"_factory_{name}()"
        elif f.default is not MISSING:
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
