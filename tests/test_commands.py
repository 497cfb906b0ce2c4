"""Command encoder (RFC 5321 §4.1.1, §4.5.3.1.4): no smuggled second command."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.errors import LocalProtocolError
from inspector.smtp import commands
from inspector.smtp.commands import COMMAND_LINE_LIMIT, Command


@pytest.mark.parametrize("command, wire", [
    (Command("QUIT"), b"QUIT\r\n"),
    (Command("EHLO", ("client.example.org",)), b"EHLO client.example.org\r\n"),
    (Command("MAIL", ("FROM:<a@example.org>", "SIZE=1000")),
     b"MAIL FROM:<a@example.org> SIZE=1000\r\n"),
    (Command("RCPT", ("TO:<b@example.org>",)), b"RCPT TO:<b@example.org>\r\n"),
    (Command("AUTH", ("PLAIN", "AGFsaWNlAHNlY3JldA==")), b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
    (Command("XCLIENT", ("NAME=x",)), b"XCLIENT NAME=x\r\n"),
    (Command("X-CUSTOM"), b"X-CUSTOM\r\n"),
    (Command("RCPT", ("TO:<用户@例子.广告>",)), "RCPT TO:<用户@例子.广告>\r\n".encode("utf-8")),
    (commands.ehlo("[192.0.2.1]"), b"EHLO [192.0.2.1]\r\n"),
    (commands.helo("client"), b"HELO client\r\n"),
    (commands.starttls(), b"STARTTLS\r\n"),
    (commands.noop(), b"NOOP\r\n"),
    (commands.quit_(), b"QUIT\r\n"),
])
def test_encode(command, wire):
    assert command.encode() == wire


@pytest.mark.parametrize("bad", ["\r", "\n", "\0", "\r\n"])
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_cr_lf_nul_in_arguments_refused(bad, where):
    arg = {"start": bad + "client", "middle": "cli" + bad + "ent", "end": "client" + bad}[where]
    with pytest.raises(LocalProtocolError):
        Command("EHLO", (arg,)).encode()


def test_smuggled_command_refused_in_later_argument():
    with pytest.raises(LocalProtocolError) as info:
        Command("MAIL", ("FROM:<a@b>", "SIZE=1\r\nRCPT TO:<evil@x>")).encode()
    assert "MAIL" in str(info.value)


@pytest.mark.parametrize("verb", ["", "-", "MAIL FROM:", "NOOP\r\nQUIT", "NOOP\n", "NOOP\0",
                                  "ÉHLO", "EHLO\u00b2", "QU!T", "HE LO", "\tNOOP"])
def test_bad_verbs_refused(verb):
    with pytest.raises(LocalProtocolError):
        Command(verb).encode()


@pytest.mark.parametrize("verb", ["EHLO", "ehlo", "X-FOO", "X-A-B", "BDAT"])
def test_good_verbs(verb):
    assert Command(verb).encode() == verb.encode() + b"\r\n"


def test_512_octet_limit_ascii():
    overhead = len(b"EHLO \r\n")
    fits = "a" * (COMMAND_LINE_LIMIT - overhead)
    assert len(Command("EHLO", (fits,)).encode()) == 512
    with pytest.raises(LocalProtocolError) as info:
        Command("EHLO", (fits + "a",)).encode()
    assert "512" in str(info.value)


def test_512_limit_counts_octets_not_characters():
    overhead = len(b"EHLO \r\n")
    n = (COMMAND_LINE_LIMIT - overhead) // 2  # "é" is two octets in UTF-8
    assert len(Command("EHLO", ("é" * n,)).encode()) <= 512
    # n + 1 characters: fewer than 512 characters, more than 512 octets.
    assert len("EHLO " + "é" * (n + 1) + "\r\n") < 512
    with pytest.raises(LocalProtocolError):
        Command("EHLO", ("é" * (n + 1),)).encode()


def test_limit_counts_all_arguments():
    args = ("x" * 200, "y" * 200, "z" * 200)
    with pytest.raises(LocalProtocolError):
        Command("MAIL", args).encode()


_SAFE = st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                       blacklist_characters="\r\n\0"), max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.lists(_SAFE, max_size=5))
def test_encoded_line_has_exactly_one_line_end(args):
    command = Command("MAIL", tuple(args))
    wire = " ".join(("MAIL", *args)).encode("utf-8") + b"\r\n"
    if len(wire) > COMMAND_LINE_LIMIT:
        with pytest.raises(LocalProtocolError):
            command.encode()
        return
    out = command.encode()
    assert out == wire
    assert out.count(b"\n") == 1 and out.count(b"\r") == 1 and out.endswith(b"\r\n")
    assert b"\0" not in out


@settings(max_examples=200, deadline=None)
@given(_SAFE, st.sampled_from(["\r", "\n", "\0"]), _SAFE)
def test_any_argument_with_cr_lf_nul_is_refused(before, bad, after):
    with pytest.raises(LocalProtocolError):
        Command("RCPT", ("TO:<a@b>", before + bad + after)).encode()
