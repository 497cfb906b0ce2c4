"""EHLO reply → Capabilities (RFC 5321 §4.1.1.1, RFC 4954, RFC 1870, RFC 3207)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from inspector.render import json_output
from inspector.smtp.capabilities import Capabilities, Capability
from inspector.smtp.reply import ReplyParser


def caps_from_wire(data: bytes) -> Capabilities:
    (reply,) = ReplyParser().feed(data)
    return Capabilities.from_reply(reply)


def ehlo(*lines: str) -> bytes:
    """Serialise EHLO reply lines as a 250 multi-line reply."""
    out = b""
    for i, line in enumerate(lines):
        sep = "-" if i < len(lines) - 1 else " "
        out += f"250{sep}{line}\r\n".encode()
    return out


POSTFIX = ehlo(
    "mail.example.com",
    "PIPELINING",
    "SIZE 10240000",
    "VRFY",
    "ETRN",
    "STARTTLS",
    "ENHANCEDSTATUSCODES",
    "8BITMIME",
    "DSN",
    "SMTPUTF8",
    "CHUNKING",
)

EXCHANGE = ehlo(
    "EX01.contoso.com Hello [192.0.2.10]",
    "SIZE 37748736",
    "PIPELINING",
    "DSN",
    "ENHANCEDSTATUSCODES",
    "STARTTLS",
    "X-ANONYMOUSTLS",
    "AUTH=LOGIN PLAIN",
    "AUTH LOGIN PLAIN NTLM",
    "X-EXPS GSSAPI NTLM",
    "8BITMIME",
    "BINARYMIME",
    "CHUNKING",
    "XRDST",
    "XCLIENT NAME ADDR",
)


def test_postfix_ehlo():
    caps = caps_from_wire(POSTFIX)
    assert caps.domain == "mail.example.com"
    assert caps.greeting == ""
    assert caps.keywords == ("PIPELINING", "SIZE", "VRFY", "ETRN", "STARTTLS",
                             "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING")
    assert caps.starttls
    assert caps.size_limit == 10240000
    assert caps.auth_mechanisms == ()
    assert caps.plaintext_auth == ()
    assert not caps.legacy_auth
    assert caps.masked == ()
    assert all(item.valid for item in caps.items)
    for keyword in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8",
                    "CHUNKING"):
        assert caps.has(keyword)
        assert caps.get(keyword).params == ()
    assert not caps.has("REQUIRETLS")
    assert not caps.has("AUTH")


def test_exchange_ehlo_with_legacy_auth():
    caps = caps_from_wire(EXCHANGE)
    assert caps.domain == "EX01.contoso.com"
    assert caps.greeting == "Hello [192.0.2.10]"
    assert caps.legacy_auth
    # AUTH= and AUTH are merged, deduplicated, first-seen order kept.
    assert caps.auth_mechanisms == ("LOGIN", "PLAIN", "NTLM")
    assert caps.plaintext_auth == ("LOGIN", "PLAIN")
    assert caps.get("AUTH").params == ("LOGIN", "PLAIN", "NTLM")
    assert caps.size_limit == 37748736
    assert caps.starttls
    exps = caps.get("X-EXPS")
    assert exps == Capability("X-EXPS", ("GSSAPI", "NTLM"), "X-EXPS GSSAPI NTLM", True)
    xclient = caps.get("XCLIENT")
    assert xclient.params == ("NAME", "ADDR")
    assert xclient.line == "XCLIENT NAME ADDR"
    assert caps.has("X-ANONYMOUSTLS") and caps.has("XRDST") and caps.has("BINARYMIME")
    # Keywords that merely start with X are not masked.
    assert caps.masked == ()


@pytest.mark.parametrize("lines, mechanisms, plaintext", [
    (["AUTH=LOGIN PLAIN", "AUTH LOGIN PLAIN"], ("LOGIN", "PLAIN"), ("LOGIN", "PLAIN")),
    (["AUTH PLAIN LOGIN", "AUTH=LOGIN"], ("PLAIN", "LOGIN"), ("PLAIN", "LOGIN")),
    (["AUTH=login", "AUTH cram-md5 plain"], ("LOGIN", "CRAM-MD5", "PLAIN"), ("LOGIN", "PLAIN")),
    (["AUTH SCRAM-SHA-256 XOAUTH2"], ("SCRAM-SHA-256", "XOAUTH2"), ()),
    (["AUTH"], (), ()),
    (["AUTH="], (), ()),
    (["auth plain"], ("PLAIN",), ("PLAIN",)),
])
def test_auth_mechanisms(lines, mechanisms, plaintext):
    caps = Capabilities.parse(["mx.example", *lines])
    assert caps.auth_mechanisms == mechanisms
    assert caps.plaintext_auth == plaintext
    assert caps.legacy_auth == any(line.upper().startswith("AUTH=") for line in lines)


@pytest.mark.parametrize("line, size", [
    ("SIZE 10240000", 10240000),
    ("SIZE 0", 0),
    ("SIZE", None),
    ("SIZE abc", None),
    ("SIZE -1", None),
    ("size 1000", 1000),
    ("SIZE 99999999999999999999", 99999999999999999999),
])
def test_size(line, size):
    assert Capabilities.parse(["mx", line]).size_limit == size


def test_size_absent():
    assert Capabilities.parse(["mx", "PIPELINING"]).size_limit is None
    assert Capabilities.empty().size_limit is None


def test_size_superscript_digit_does_not_raise():
    # RFC 1870 §4: size-value = 1*20DIGIT, and ABNF DIGIT is %x30-39 only.
    # A server can send b"250 SIZE \xc2\xb2" (UTF-8 '²'): the parser must not crash.
    caps = caps_from_wire(b"250-mx\r\n250 SIZE \xc2\xb2\r\n")
    assert caps.size_limit is None
    assert json_output.capabilities(caps)["size"] is None


def test_size_non_ascii_digits_are_not_a_size():
    # U+0663 U+0664 are ARABIC-INDIC digits; RFC 1870 allows ASCII digits only.
    assert Capabilities.parse(["mx", "SIZE \u0663\u0664"]).size_limit is None


@pytest.mark.parametrize("keyword", ["REQUIRETLS", "CHUNKING", "DSN", "SMTPUTF8", "8BITMIME",
                                     "PIPELINING", "ENHANCEDSTATUSCODES", "STARTTLS",
                                     "BINARYMIME", "DELIVERBY", "MT-PRIORITY"])
def test_standard_keywords(keyword):
    caps = Capabilities.parse(["mx", keyword])
    assert caps.has(keyword)
    assert caps.has(keyword.lower())
    assert caps.keywords == (keyword,)
    assert caps.get(keyword).valid
    assert caps.starttls == (keyword == "STARTTLS")


def test_lower_case_keywords_are_upper_cased_but_line_kept():
    caps = Capabilities.parse(["mx", "starttls", "size 1000", "Auth Plain login", "x-Foo bar"])
    assert caps.keywords == ("STARTTLS", "SIZE", "AUTH", "X-FOO")
    assert caps.starttls
    assert caps.size_limit == 1000
    assert caps.auth_mechanisms == ("PLAIN", "LOGIN")
    assert [item.line for item in caps.items] == ["starttls", "size 1000", "Auth Plain login",
                                                 "x-Foo bar"]
    # Parameters are kept as sent (only AUTH mechanisms are upper-cased).
    assert caps.get("x-foo").params == ("bar",)
    assert all(item.valid for item in caps.items)


@pytest.mark.parametrize("line", ["XXXXXXXA", "XXXXXXXX", "xxxxxxxa", "XXXX"])
def test_masked_keywords(line):
    caps = Capabilities.parse(["mx", "PIPELINING", line, "8BITMIME"])
    assert caps.masked == (line,)
    # Still kept as a capability: the line is evidence.
    assert caps.has(line)
    assert [item.line for item in caps.items] == ["PIPELINING", line, "8BITMIME"]
    assert not caps.starttls


@pytest.mark.parametrize("line", ["XCLIENT NAME ADDR", "XFORWARD NAME", "XEXCH50", "XRDST",
                                  "X-EXPS GSSAPI", "XOORG", "EXPN"])
def test_x_keywords_are_not_masked(line):
    assert Capabilities.parse(["mx", line]).masked == ()


def test_cisco_asa_masking_everything():
    caps = caps_from_wire(b"250-mx.example.com\r\n250-XXXXXXXA\r\n250-XXXXXXXX\r\n250 8BITMIME\r\n")
    assert caps.masked == ("XXXXXXXA", "XXXXXXXX")
    assert not caps.starttls


@pytest.mark.parametrize("line, valid", [
    ("_bad", False),
    ("-LEADING-DASH", False),
    ("KEY_WORD", False),
    ("KEY.WORD", False),
    ("ÜBER", False),
    ("X-OK-1", True),
    ("8BITMIME", True),
    ("A", True),
])
def test_keyword_validity(line, valid):
    caps = Capabilities.parse(["mx", line])
    (item,) = caps.items
    assert item.valid is valid
    assert item.line == line


def test_empty_line_is_invalid_and_not_a_keyword():
    caps = Capabilities.parse(["mx", "PIPELINING", "", "   "])
    assert caps.keywords == ("PIPELINING",)
    assert [(i.keyword, i.valid, i.line) for i in caps.items] == [
        ("PIPELINING", True, "PIPELINING"), ("", False, ""), ("", False, "   ")]


def test_empty_reply_and_empty():
    assert Capabilities.parse([]) == Capabilities.empty()
    caps = Capabilities.parse(["only.domain"])
    assert caps.domain == "only.domain"
    assert caps.items == ()


def test_to_json_shape():
    caps = Capabilities.parse(["mx.example.com hi there", "SIZE 100", "AUTH=LOGIN",
                               "AUTH PLAIN", "XXXXXXXA", "X-EXPS GSSAPI NTLM"])
    data = json_output.capabilities(caps)
    assert set(data) == {"domain", "keywords", "auth_mechanisms", "legacy_auth", "size",
                         "masked", "lines"}
    assert data["domain"] == "mx.example.com"
    assert data["keywords"] == {"SIZE": ["100"], "AUTH=": ["LOGIN"], "AUTH": ["PLAIN"],
                                "XXXXXXXA": [], "X-EXPS": ["GSSAPI", "NTLM"]}
    assert data["auth_mechanisms"] == ["LOGIN", "PLAIN"]
    assert data["legacy_auth"] is True
    assert data["size"] == 100
    assert data["masked"] == ["XXXXXXXA"]
    assert data["lines"] == ["SIZE 100", "AUTH=LOGIN", "AUTH PLAIN", "XXXXXXXA",
                             "X-EXPS GSSAPI NTLM"]
    import json
    assert json.loads(json.dumps(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=12))
@example(["mx", "AUTH="])
@example(["mx", "auth= PLAIN", "", "  "])
def test_parse_never_raises(texts):
    caps = Capabilities.parse(texts)
    caps.keywords, caps.starttls, caps.plaintext_auth  # noqa: B018
    # Every line after the first is kept, in order, the legacy AUTH= form included.
    assert [item.line for item in caps.items] == texts[1:]
    assert len(set(caps.auth_mechanisms)) == len(caps.auth_mechanisms)
    assert "" not in caps.auth_mechanisms
    assert set(caps.masked) <= set(texts[1:])


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=25))
def test_size_param_ascii(param):
    caps = Capabilities.parse(["mx", f"SIZE {param}"])
    expected = int(param) if param and all("0" <= c <= "9" for c in param) else None
    assert caps.size_limit == expected
    assert json_output.capabilities(caps)["size"] == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40).filter(lambda b: b"\n" not in b), min_size=1, max_size=10))
def test_capabilities_from_any_parsed_reply(bodies):
    """Bytes → ReplyParser → Capabilities never raises; every line after the first is kept."""
    raw = b"".join(b"250-" + body + b"\r\n" for body in bodies[:-1]) + b"250 " + bodies[-1] + b"\r\n"
    (reply,) = ReplyParser().feed(raw)
    caps = Capabilities.from_reply(reply)
    assert len(caps.items) == len(bodies) - 1
    assert caps.size_limit is None or caps.size_limit >= 0
