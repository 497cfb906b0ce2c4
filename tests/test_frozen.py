"""inspector.frozen: the one-step constructor builds the very object the dataclass's __init__ does."""

from __future__ import annotations

import dataclasses

import pytest

from inspector.frozen import constructor
from inspector.smtp.events import CommandReply
from inspector.smtp.reply import ReplyLine, ReplyParser


def test_constructor_builds_an_equal_object_of_the_same_class():
    make = constructor(ReplyLine)
    made = make(b"250 ok\r\n", b"250", b" ", "ok", b"\r\n")
    built = ReplyLine(b"250 ok\r\n", b"250", b" ", "ok", b"\r\n")
    assert type(made) is ReplyLine and made == built and hash(made) == hash(built)
    assert repr(made) == repr(built) and vars(made) == vars(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.code = b"550"


def test_parsed_replies_compare_equal_to_hand_built_ones():
    reply = ReplyParser().feed(b"250-a\r\n250 b\r\n")[0]
    line = ReplyLine(b"250 b\r\n", b"250", b" ", "b", b"\r\n")
    assert reply.lines[1] == line and reply.code == 250 and reply.text == "a\nb"
    event = CommandReply(None, reply)
    assert constructor(CommandReply)(None, reply) == event


def test_constructor_refuses_what_it_cannot_build_alike():
    @dataclasses.dataclass(frozen=True)
    class Checked:
        value: int

        def __post_init__(self):
            assert self.value > 0

    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        value: int

    for cls in (Checked, Slotted, int):
        with pytest.raises(TypeError):
            constructor(cls)
