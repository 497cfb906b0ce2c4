"""inspector.frozen: @frozen behaves as @dataclass(frozen=True), and the parsers' objects are the
ones their classes build."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from inspector.frozen import frozen
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
    with pytest.raises(dataclasses.FrozenInstanceError):
        line.code = b"550"


@frozen
class Point:
    x: int
    y: int = 0
    tags: tuple = ()
    notes: list = dataclasses.field(default_factory=list, compare=False, repr=False)


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


def test_same_init_repr_eq_hash_as_a_frozen_dataclass():
    ours, theirs = Point(1, tags=("a",)), Reference(x=1, tags=("a",))
    assert repr(ours) == repr(theirs).replace("Reference", "Point") == "Point(x=1, y=0, tags=('a',))"
    assert ours == Point(1, 0, ("a",)) and ours != Point(2) and ours != theirs
    assert ours == Point(1, tags=("a",), notes=["ignored by eq"])
    assert hash(ours) == hash(Point(1, tags=("a",)))
    assert len({Point(1), Point(1), Point(2)}) == 2
    assert Point(1).notes == [] and Point(1).notes is not Point(1).notes
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)
    with pytest.raises(TypeError):
        Point()


def test_frozen_and_the_dataclass_tools_work():
    p = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del p.x
    assert dataclasses.is_dataclass(p)
    assert [f.name for f in dataclasses.fields(p)] == ["x", "y", "tags", "notes"]
    assert dataclasses.replace(p, y=5) == Point(1, 5)
    assert pickle.loads(pickle.dumps(p)) == p and copy.deepcopy(p) == p
    assert Point.__match_args__ == ("x", "y", "tags", "notes")


def test_subclass_post_init_and_own_repr():
    item = Labelled(3, label="new")
    assert item.label == "NEW" and item != Point(3)
    assert repr(item) == "Labelled(x=3, y=0, tags=(), label='NEW')"
    assert Point(4) == Point(4)          # the base's compiled __init__ is its own
    assert repr(Quiet("s3cret")) == "Quiet(...)"
    assert Quiet("a") == Quiet("a") and hash(Quiet("a")) == hash(Quiet("a"))
