"""The I/O of the checks that send deliberately malformed records: Heartbleed, CCS injection, ROBOT.

Each opens one connection through the audit's dialer (its concurrency cap,
rate limit and deadline), sends a ClientHello offering one suite the
enumeration saw the server pick, reads the first flight up to
ServerHelloDone, sends the records of :mod:`inspector.tls.checks.attacks`
and reads the first answer: its type and size, never more than one record
(RFC 8446 §5.1 bounds it), and never past the step's time or ``--deadline``.
Skipped with ``--no-attacks``.
"""

from __future__ import annotations

from ..errors import DeadlineExceeded, StepTimeout, TransportError
from ..frozen import frozen
from ..tls.checks import attacks
from ..tls.checks.ocsp import rsa_public_numbers
from ..tls.client_hello import client_hello
from ..tls.enumerate import Unreachable
from ..tls.hello import FlightReader
from ..tls.registry import VERSIONS


@frozen
class AttackResult:
    """One attack check: ``vulnerable`` None when it could not be run (``detail`` says why)."""

    vulnerable: bool | None
    detail: str
    connections: int = 0


def after_flight(dialer, version: str, suite: int, payload, label: str):
    """(ServerAnswer, Reaction or None): our records sent after the server's first flight.

    ``payload(answer) -> bytes``; a Reaction is None when the server did not
    answer the ClientHello with a ServerHello at ``version``.
    """
    hello = client_hello(version, (suite,), servername=dialer.sni)

    def action(connection):
        connection.send(hello, until=dialer.until())
        reader = FlightReader()
        until = dialer.until()
        while not reader.done:
            try:
                data = connection.recv(until=until)
            except DeadlineExceeded:
                raise
            except TransportError:
                break
            if not data:
                break
            reader.feed(data)
        answer = reader.answer()
        if answer.kind != "hello" or answer.version != version:
            return answer, None
        connection.send(payload(answer), until=dialer.until())
        after = attacks.AfterFlight()
        until = dialer.until()
        try:
            while after.reaction is None:
                data = connection.recv(until=until)
                if not data:
                    return answer, after.end("closed")
                after.feed(data)
        except StepTimeout:
            return answer, after.end("silent")
        except DeadlineExceeded:
            raise
        except TransportError:
            return answer, after.end("closed")
        return answer, after.reaction

    return dialer.run(action, label)


def heartbleed(dialer, echoed: list[tuple[str, int]]) -> AttackResult:
    """CVE-2014-0160 on the first (version, suite) whose ServerHello echoed the heartbeat extension."""
    if not echoed:
        return AttackResult(False, "the server does not negotiate the heartbeat extension (RFC 6520)")
    version, suite = echoed[0]
    try:
        _answer, reaction = after_flight(dialer, version, suite,
                                         lambda _a: attacks.heartbleed_payload(VERSIONS[version]), "attacks")
    except Unreachable as exc:
        return AttackResult(None, f"not determined: {exc}", 1)
    if reaction is None:
        return AttackResult(None, f"not determined: no {version} ServerHello this time", 1)
    if attacks.heartbleed_vulnerable(reaction):
        return AttackResult(True, f"{version}: an over-long HeartbeatRequest got {reaction} back "
                            "(the server's memory)", 1)
    return AttackResult(False, f"{version}: an over-long HeartbeatRequest got {reaction}", 1)


def ccs_injection(dialer, version: str, suite: int) -> AttackResult:
    """CVE-2014-0224: two ChangeCipherSpec records before any key exchange."""
    try:
        _answer, reaction = after_flight(dialer, version, suite,
                                         lambda _a: attacks.ccs_payload(VERSIONS[version]), "attacks")
    except Unreachable as exc:
        return AttackResult(None, f"not determined: {exc}", 1)
    if reaction is None:
        return AttackResult(None, f"not determined: no {version} ServerHello this time", 1)
    if attacks.ccs_vulnerable(reaction):
        return AttackResult(True, f"{version}: the early ChangeCipherSpec was taken ({reaction} on the "
                            "second)", 1)
    return AttackResult(False, f"{version}: an early ChangeCipherSpec got {reaction}", 1)


def robot(dialer, version: str, suite: int, pool=None) -> AttackResult:
    """ROBOT: the answers to one well-formed and four malformed RSA premaster secrets, compared.

    Five connections (at once when ``pool`` is given); when the answers
    differ, the differing ones are asked once more, and only answers that
    repeat count (a flaky server is no oracle).
    """
    def variant(index):
        def payload(answer):
            numbers = rsa_public_numbers(answer.chain_der[0] if answer.chain_der else None)
            if numbers is None or numbers[0].bit_length() < 512:   # PKCS#1 needs k >= 11 + 48 bytes
                raise _NoRsaKey()
            return attacks.robot_messages(numbers[0], numbers[1], VERSIONS[version])[index]
        return after_flight(dialer, version, suite, payload, "attacks")[1]

    reactions = []
    try:
        indexes = range(len(attacks.ROBOT_VARIANTS))
        if pool is not None:
            futures = [pool.submit(variant, index) for index in indexes]
            reactions = [future.result() for future in futures]
        else:
            reactions = [variant(index) for index in indexes]
        if None in reactions:
            return AttackResult(None, f"not determined: no {version} ServerHello this time",
                                len(reactions))
        used = len(reactions)
        if attacks.robot_oracle(reactions):
            for index in range(1, len(reactions)):
                if str(reactions[index]) != str(reactions[0]):
                    again = variant(index)
                    used += 1
                    if again is None or str(again) != str(reactions[index]):
                        reactions[index] = reactions[0]   # not repeatable: not an oracle answer
    except _NoRsaKey:
        return AttackResult(None, "not determined: the certificate has no RSA key", len(reactions))
    except Unreachable as exc:
        return AttackResult(None, f"not determined: {exc}", len(reactions))
    if not attacks.robot_oracle(reactions):
        names = f"all {len(reactions)} premaster secrets (one well-formed): {reactions[0]}"
    else:
        pairs = zip(attacks.ROBOT_VARIANTS, reactions, strict=False)
        names = "; ".join(f"{name}: {reaction}" for name, reaction in pairs)
    return AttackResult(attacks.robot_oracle(reactions), f"{version} {suite:#06x}: {names}", used)


class _NoRsaKey(Exception):
    pass
