"""The message ``send`` submits: a generated test message, or the user's, as CRLF bytes (no I/O).

Built with the standard library's :mod:`email` package (RFC 5322, MIME for
``--attach``). A user's message (``--data``) is sent byte for byte; only its
line ends may be repaired, and only when asked (``--fix-line-ends``).
"""

from __future__ import annotations

import datetime
import secrets

from ..errors import UsageError
from ..frozen import frozen
from ..smtp.transaction import TEXT_LINE_LIMIT, LineEndings, line_endings, to_crlf


@frozen
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
    """A small RFC 5322 message naming the tool and the time (Bcc recipients stay out of the headers).

    Plain ASCII text is written directly (start-up time: the ``email`` package costs more
    than the rest of ``send``); anything else goes through ``email``.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    utf8 = not all(a.isascii() for a in (sender, *to, *cc))
    subject = subject or f"smtp-inspector test message {now.strftime('%Y-%m-%d %H:%M:%S')} UTC"
    text = body if body is not None else (
        f"This is a test message sent by smtp-inspector send\n"
        f"at {now.isoformat(timespec='seconds')} to check that the server\n"
        f"accepts mail from {sender}.\nIt can be deleted.\n")
    simple = (not utf8 and not attachments and text.isascii() and subject.isascii()
              and all(n.isascii() and v.isascii() for n, v in headers)
              and all(len(line) <= 78 for line in text.splitlines()))
    if simple:
        return _ascii_message(sender, to, cc, subject, text, headers, now)
    import email.policy
    import email.utils
    import mimetypes
    from email.message import EmailMessage

    message = EmailMessage(policy=email.policy.SMTPUTF8 if utf8 else email.policy.SMTP)
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = email.utils.make_msgid("smtp-inspector", domain=_domain(sender).encode(
        "idna").decode("ascii") if not _domain(sender).isascii() else _domain(sender))
    message["From"] = sender
    if to:
        message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    for name, value in headers:
        message[name] = value
    message.set_content(text)
    for filename, content in attachments:
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        maintype, _, subtype = kind.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _ascii_message(sender, to, cc, subject, text, headers, now) -> bytes:
    """RFC 5322 §3.3 date, §3.6.4 Message-ID, 7-bit text/plain (RFC 2045)."""
    date = (f"{_DAYS[now.weekday()]}, {now.day:02d} {_MONTHS[now.month - 1]} {now.year} "
            f"{now.strftime('%H:%M:%S')} {now.strftime('%z') or '+0000'}")
    lines = [f"Date: {date}",
             f"Message-ID: <{now.strftime('%Y%m%d%H%M%S')}.{secrets.token_hex(8)}.smtp-inspector@"
             f"{_domain(sender)}>",
             f"From: {sender}"]
    if to:
        lines.append(f"To: {', '.join(to)}")
    if cc:
        lines.append(f"Cc: {', '.join(cc)}")
    lines += [f"Subject: {subject}", *(f"{name}: {value}" for name, value in headers),
              "MIME-Version: 1.0", 'Content-Type: text/plain; charset="us-ascii"',
              "Content-Transfer-Encoding: 7bit", ""]
    body = text if text.endswith("\n") else text + "\n"
    return ("\r\n".join(lines) + "\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")).encode("ascii")


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
