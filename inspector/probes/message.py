"""The message ``send`` submits: a generated test message, or the user's, as CRLF bytes (no I/O).

Built with the standard library's :mod:`email` package (RFC 5322, MIME for
``--attach``). A user's message (``--data``) is sent byte for byte; only its
line ends may be repaired, and only when asked (``--fix-line-ends``).
"""

from __future__ import annotations

import datetime
import email.policy
import email.utils
import mimetypes
from dataclasses import dataclass
from email.message import EmailMessage

from ..errors import UsageError
from ..smtp.transaction import TEXT_LINE_LIMIT, LineEndings, line_endings, to_crlf


@dataclass(frozen=True)
class PreparedMessage:
    data: bytes                 #: CRLF line ends, not dot-stuffed
    generated: bool             #: our test message (not --data)
    fixed: LineEndings | None   #: the line ends repaired (--fix-line-ends), if any


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "smtp-inspector.invalid"


def generated_message(sender: str, to: tuple[str, ...], cc: tuple[str, ...], *, subject: str | None = None,
                      body: str | None = None, headers: tuple[tuple[str, str], ...] = (),
                      attachments: tuple[tuple[str, bytes], ...] = (), now: datetime.datetime | None = None
                      ) -> bytes:
    """A small RFC 5322 message naming the tool and the time (Bcc recipients stay out of the headers)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    utf8 = not all(a.isascii() for a in (sender, *to, *cc))
    message = EmailMessage(policy=email.policy.SMTPUTF8 if utf8 else email.policy.SMTP)
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = email.utils.make_msgid("smtp-inspector", domain=_domain(sender).encode(
        "idna").decode("ascii") if not _domain(sender).isascii() else _domain(sender))
    message["From"] = sender
    if to:
        message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject or f"smtp-inspector test message {now.strftime('%Y-%m-%d %H:%M:%S')} UTC"
    for name, value in headers:
        message[name] = value
    text = body if body is not None else (
        f"This is a test message sent by smtp-inspector send at {now.isoformat(timespec='seconds')}\n"
        f"to check that the server accepts mail from {sender}.\nIt can be deleted.\n")
    message.set_content(text)
    for filename, content in attachments:
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        maintype, _, subtype = kind.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def prepared_message(raw: bytes, *, fix_line_ends: bool,
                     headers: tuple[tuple[str, str], ...] = ()) -> PreparedMessage:
    """A user's message (``--data``): CRLF only, lines within 998 octets (RFC 5321 §4.5.3.1.6).

    Raises:
        UsageError: bare LF/CR without ``--fix-line-ends``, or a line too long.
    """
    prefix = b"".join(f"{name}: {value}\r\n".encode() for name, value in headers)
    data = prefix + raw
    endings = line_endings(data)
    fixed = None
    if not endings.clean:
        if not fix_line_ends:
            raise UsageError(f"the message has {endings.bare_lf} bare LF and {endings.bare_cr} bare CR "
                             "line ends; SMTP needs CRLF (RFC 5321 §2.3.8): convert them, or pass "
                             "--fix-line-ends to have them sent as CRLF (reported as line-ends-fixed)")
        data, fixed = to_crlf(data), endings
    if endings.longest > TEXT_LINE_LIMIT:
        raise UsageError(f"a line of the message is {endings.longest} octets; RFC 5321 §4.5.3.1.6 "
                         f"allows {TEXT_LINE_LIMIT} (encode the body, e.g. quoted-printable)")
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"   # RFC 5321 §4.1.1.4: the end-of-data dot must start a line
    return PreparedMessage(data, False, fixed)
