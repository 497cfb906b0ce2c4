"""inspector.frozen: @frozen behaves as @dataclass(frozen=True) and @mutable as @dataclass, without
importing dataclasses; the parsers' objects are the ones their classes build."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from inspector.frozen import (
    MISSING,
    FrozenInstanceError,
    asdict,
    field,
    fields,
    frozen,
    is_frozen,
    mutable,
    replace,
)
from inspector.smtp.events import CommandReply
from inspector.smtp.reply import ReplyLine, ReplyParser


def test_parsed_replies_compare_equal_to_hand_built_ones():
    reply = ReplyParser().feed(b"250-a\r\n250 b\r\n")[0]
    line = ReplyLine(b"250 b\r\n", b"250", b" ", "b", b"\r\n")
    assert type(reply.lines[1]) is ReplyLine
    assert reply.lines[1] == line and hash(reply.lines[1]) == hash(line)
    assert repr(reply.lines[1]) == repr(line) and vars(reply.lines[1]) == vars(line)
    assert reply.code == 250 and reply.text == "a\nb"
    assert CommandReply(None, reply) == CommandReply(None, ReplyParser().feed(b"250-a\r\n250 b\r\n")[0])
    with pytest.raises(FrozenInstanceError):
        line.code = b"550"


@frozen
class Point:
    x: int
    y: int = 0
    tags: tuple = ()
    notes: list = field(default_factory=list, compare=False, repr=False)


@frozen
class Labelled(Point):
    label: str = "?"

    def __post_init__(self):
        object.__setattr__(self, "label", self.label.upper())


@frozen(repr=False)
class Quiet:
    secret: str

    def __repr__(self):
        return "Quiet(...)"


@dataclasses.dataclass(frozen=True)
class Reference:
    """Point made by dataclasses, to compare against."""
    x: int
    y: int = 0
    tags: tuple = ()
    notes: list = dataclasses.field(default_factory=list, compare=False, repr=False)


@frozen
class Line:
    start: Point
    end: Point
    via: tuple = ()
    named: dict = field(default_factory=dict)
    counted: int = field(default=0, init=False)
    digest: str = field(default="", hash=False)


@dataclasses.dataclass(frozen=True)
class ReferenceLine:
    start: Reference
    end: Reference
    via: tuple = ()
    named: dict = dataclasses.field(default_factory=dict)
    counted: int = dataclasses.field(default=0, init=False)
    digest: str = dataclasses.field(default="", hash=False)


@mutable
class Progress:
    step: str
    done: list = field(default_factory=list)
    note: str = field(default="", repr=False)


@dataclasses.dataclass
class ReferenceProgress:
    step: str
    done: list = dataclasses.field(default_factory=list)
    note: str = dataclasses.field(default="", repr=False)


def test_same_init_repr_eq_hash_as_a_frozen_dataclass():
    ours, theirs = Point(1, tags=("a",)), Reference(x=1, tags=("a",))
    assert repr(ours) == repr(theirs).replace("Reference", "Point") == "Point(x=1, y=0, tags=('a',))"
    assert ours == Point(1, 0, ("a",)) and ours != Point(2) and ours != theirs
    assert ours == Point(1, tags=("a",), notes=["ignored by eq"])
    assert hash(ours) == hash(Point(1, tags=("a",)))
    assert len({Point(1), Point(1), Point(2)}) == 2
    assert Point(1).notes == [] and Point(1).notes is not Point(1).notes
    assert asdict(ours) == dataclasses.asdict(theirs)
    with pytest.raises(TypeError):
        Point()
    with pytest.raises(TypeError):
        Point(1, z=2)


def test_frozen_and_the_tools_work():
    p = Point(1)
    with pytest.raises(FrozenInstanceError):
        p.x = 2
    with pytest.raises(FrozenInstanceError):
        del p.x
    with pytest.raises(AttributeError):      # as dataclasses.FrozenInstanceError is
        p.y = 3
    assert is_frozen(p) and is_frozen(Point) and not is_frozen(Reference(1)) and not is_frozen(3)
    assert [f.name for f in fields(p)] == ["x", "y", "tags", "notes"] == [f.name for f in fields(Point)]
    assert replace(p, y=5) == Point(1, 5) and p.y == 0
    assert pickle.loads(pickle.dumps(p)) == p and copy.deepcopy(p) == p
    assert Point.__match_args__ == ("x", "y", "tags", "notes") == Reference.__match_args__
    match p:
        case Point(1, y):
            assert y == 0
        case _:
            raise AssertionError("positional pattern did not match")
    with pytest.raises(TypeError):
        fields(3)
    with pytest.raises(TypeError):
        asdict(Point)


def test_defaults_and_factories_as_dataclasses_keep_them():
    """Class attributes hold plain defaults, factories leave none (as dataclasses)."""
    assert Point.y == Reference.y == 0 and Point.tags == () and "notes" not in Point.__dict__
    assert Line.counted == ReferenceLine.counted == 0
    f = {x.name: x for x in fields(Line)}
    g = {x.name: x for x in dataclasses.fields(ReferenceLine)}
    def facts(one, missing):
        return tuple(None if value is missing else value for value in (
            one.default, one.default_factory, one.init, one.repr, one.hash, one.compare,
            one.type.replace("Reference", "Point")))

    assert list(f) == list(g)
    for name in g:
        assert facts(f[name], MISSING) == facts(g[name], dataclasses.MISSING), name
    line = Line(Point(1), Point(2))
    assert line.counted == 0 and line.named == {} and line.named is not Line(Point(1), Point(2)).named
    with pytest.raises(TypeError):
        Line(Point(1), Point(2), counted=3)     # init=False


def test_inheritance_takes_the_bases_fields_first_and_keeps_a_redefined_field_in_place():
    assert [f.name for f in fields(Labelled)] == ["x", "y", "tags", "notes", "label"]
    item = Labelled(3, label="new")
    assert item.label == "NEW" and item != Point(3)
    assert repr(item) == "Labelled(x=3, y=0, tags=(), label='NEW')"
    assert Point(4) == Point(4)          # the base's compiled __init__ is its own

    @frozen
    class Moved(Point):
        y: int = 7

    @dataclasses.dataclass(frozen=True)
    class ReferenceMoved(Reference):
        y: int = 7

    assert [f.name for f in fields(Moved)] == [f.name for f in dataclasses.fields(ReferenceMoved)]
    assert Moved(1).y == ReferenceMoved(1).y == 7


def test_replace_rebuilds_init_false_fields_and_refuses_to_set_them():
    line = Line(Point(1), Point(2), digest="d")
    assert replace(line, via=(Point(0),)) == Line(Point(1), Point(2), (Point(0),), digest="d")
    with pytest.raises(ValueError):
        replace(line, counted=1)
    with pytest.raises(ValueError):
        dataclasses.replace(ReferenceLine(Reference(1), Reference(2)), counted=1)
    with pytest.raises(TypeError):
        replace(line, nothing=1)
    assert replace(Reference(1), y=2) == Reference(1, 2)    # a dataclasses instance works too
    with pytest.raises(TypeError):
        replace(object())


def test_asdict_nests_as_dataclasses_asdict_does():
    ours = Line(Point(1, tags=(Point(9),)), Point(2, notes=[Point(3)]), via=(Point(4), [Point(5)]),
                named={"k": Point(6), 7: [1, {"z": Point(8)}]})
    theirs = ReferenceLine(Reference(1, tags=(Reference(9),)), Reference(2, notes=[Reference(3)]),
                           via=(Reference(4), [Reference(5)]),
                           named={"k": Reference(6), 7: [1, {"z": Reference(8)}]})
    assert asdict(ours) == dataclasses.asdict(theirs)
    assert type(asdict(ours)["via"]) is tuple and type(asdict(ours)["via"][1]) is list
    assert list(asdict(ours)) == ["start", "end", "via", "named", "counted", "digest"]
    holder = Line(Point(1), Point(2), named={"ref": Reference(5)})      # a dataclasses instance inside
    assert asdict(holder)["named"]["ref"] == {"x": 5, "y": 0, "tags": (), "notes": []}
    listed = ["not copied? it is"]
    assert asdict(Point(1, notes=listed))["notes"] is not listed        # containers are rebuilt


def test_hash_and_eq_follow_compare_and_hash():
    a, b = Line(Point(1), Point(2), digest="a"), Line(Point(1), Point(2), digest="b")
    ra, rb = (ReferenceLine(Reference(1), Reference(2), digest=d) for d in "ab")
    assert (a == b) == (ra == rb) is False
    with pytest.raises(TypeError):
        hash(a)                    # its dict field is unhashable, as in the reference
    with pytest.raises(TypeError):
        hash(ra)
    assert hash(Point(1, notes=[1])) == hash(Point(1, notes=[2]))   # compare=False: not hashed
    assert Quiet("a") == Quiet("a") and hash(Quiet("a")) == hash(Quiet("a"))
    assert repr(Quiet("s3cret")) == "Quiet(...)"


def test_mutable_behaves_as_a_dataclass():
    ours, theirs = Progress("auth"), ReferenceProgress("auth")
    ours.done.append(1)
    theirs.done.append(1)
    ours.step = theirs.step = "data"
    assert repr(ours) == repr(theirs).replace("ReferenceProgress", "Progress")
    assert ours == Progress("data", [1]) and ours != Progress("data")
    assert Progress.__hash__ is None and ReferenceProgress.__hash__ is None
    assert asdict(ours) == dataclasses.asdict(theirs)
    assert replace(ours, step="quit") == Progress("quit", [1])

    @mutable(eq=False)
    class Identity:
        name: str

    one = Identity("a")
    assert one != Identity("a") and len({one, one}) == 1


def test_definition_errors_as_dataclasses_raise_them():
    with pytest.raises(ValueError):
        @frozen
        class MutableDefault:
            items: list = []  # noqa: RUF012
    with pytest.raises(TypeError):
        @frozen
        class DefaultFirst:
            a: int = 0
            b: int
    with pytest.raises(TypeError):
        @frozen
        class Unannotated:
            a = field(default=1)
    with pytest.raises(ValueError):
        field(default=1, default_factory=int)
    with pytest.raises(TypeError):
        @frozen
        class OwnSetattr:
            a: int

            def __setattr__(self, name, value):
                pass


def test_the_generic_init_and_the_compiled_one_build_the_same_objects_and_refuse_the_same_calls():
    """A class's first instances run the generic __init__, the COMPILE_AT-th compiles its own."""
    from inspector.frozen import COMPILE_AT

    @frozen
    class Shape:
        name: str
        sides: int = 4
        tags: list = field(default_factory=list, compare=False)
        area: float = field(default=0.0, init=False)
        seen: list = field(default_factory=list, init=False, compare=False)

        def __post_init__(self):
            object.__setattr__(self, "area", float(self.sides))

    def compiled():
        return Shape.__init__.__qualname__.endswith("Shape.__init__")

    calls = [((), {"name": "a"}), (("b", 3), {}), (("c",), {"sides": 5, "tags": [1]}),
             ((), {"name": "d", "sides": 6})]
    wrong = [((), {}), (("a", 3, [], 1), {}), (("a",), {"name": "b"}), (("a",), {"area": 1.0}),
             (("a",), {"colour": "red"})]
    for args, kwargs in wrong:
        with pytest.raises(TypeError):
            Shape(*args, **kwargs)
    assert not compiled()                       # refused calls count for nothing
    generic = [Shape(*args, **kwargs) for args, kwargs in calls[:COMPILE_AT - 1]]
    assert not compiled()
    Shape(*calls[-1][0], **calls[-1][1])
    assert compiled()
    built = [Shape(*args, **kwargs) for args, kwargs in calls[:COMPILE_AT - 1]]
    assert generic == built and [vars(g) for g in generic] == [vars(c) for c in built]
    assert [list(vars(g)) for g in generic] == [list(vars(c)) for c in built]   # same field order
    assert generic[0].seen is not generic[1].seen and generic[2].area == 5.0 and generic[2].tags == [1]
    for args, kwargs in wrong:
        with pytest.raises(TypeError):
            Shape(*args, **kwargs)
