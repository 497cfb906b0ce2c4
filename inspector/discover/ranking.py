"""Which candidate to recommend, and why each other one was not chosen (pure).

Order of the criteria (the first that differs decides):
1. the session worked and TLS was set up (a plain server is never recommended, RFC 8314 §3);
2. a certificate that is trusted and names the server (RFC 8314 §3.3, RFC 6125 §6);
3. implicit TLS over STARTTLS (RFC 8314 §3.3: implicit TLS is preferred);
4. a verified login, when one was tried, over an untried one, over a failed one;
5. AUTH offered after TLS over none (RFC 4954 §4);
6. a submission port (465, 587) over the relay port 25 (RFC 6409 §1, RFC 8314 §3.3);
7. the stronger source (SRV, autoconfig, MX base, guess), then SRV priority and weight;
8. the order found.
"""

from __future__ import annotations

from ..frozen import frozen


@frozen
class Assessment:
    """What the probe of one candidate established, reduced to what ranking needs."""

    index: int
    label: str                    #: host:port, for reasons
    failure: str | None           #: why no usable session (None: TLS session up, EHLO answered)
    tls: str                      #: "implicit", "starttls" or "none"
    cert_problem: str | None      #: None when trusted and matching the name
    auth_mechanisms: tuple[str, ...]
    login: bool | None            #: None: not tried (no --auth); True/False: the login's outcome
    port: int
    source_rank: int
    srv_priority: int | None = None
    srv_weight: int | None = None

    @property
    def usable(self) -> bool:
        return self.failure is None and self.tls != "none"


_TLS_ORDER = {"implicit": 0, "starttls": 1, "none": 2}
_LOGIN_ORDER = {True: 0, None: 1, False: 2}


def sort_key(a: Assessment) -> tuple:
    return (
        0 if a.usable else 1 if a.failure is None else 2,
        0 if a.cert_problem is None else 1,
        _TLS_ORDER[a.tls],
        _LOGIN_ORDER[a.login],
        0 if a.auth_mechanisms else 1,
        1 if a.port == 25 else 0,
        a.source_rank,
        a.srv_priority if a.srv_priority is not None else 65536,
        -(a.srv_weight or 0),
        a.index,
    )


@frozen
class Ranking:
    chosen: Assessment | None
    ordered: tuple[Assessment, ...]
    reasons: dict[int, str]       #: index → why it was not chosen ("recommended" for the choice)


def rank(assessments: list[Assessment]) -> Ranking:
    ordered = tuple(sorted(assessments, key=sort_key))
    chosen = ordered[0] if ordered and ordered[0].usable else None
    reasons = {}
    for a in ordered:
        reasons[a.index] = "recommended" if a is chosen else reason_not_chosen(a, chosen)
    return Ranking(chosen, ordered, reasons)


def reason_not_chosen(a: Assessment, chosen: Assessment | None) -> str:
    """The first criterion on which ``a`` loses, in words."""
    if a.failure is not None:
        return a.failure
    if a.tls == "none":
        return "no TLS: the password would cross the network in clear text (RFC 8314 §3)"
    if chosen is None:  # pragma: no cover - a usable candidate is always chosen
        return "not chosen"
    if a.cert_problem is not None and chosen.cert_problem is None:
        return a.cert_problem
    if _TLS_ORDER[a.tls] > _TLS_ORDER[chosen.tls]:
        return (f"STARTTLS; {chosen.label} offers implicit TLS, which RFC 8314 §3.3 prefers")
    if a.login is False and chosen.login is not False:
        return "login failed"
    if a.login is None and chosen.login is True:
        return "login not verified here"
    if not a.auth_mechanisms and chosen.auth_mechanisms:
        return "no AUTH offered after TLS (RFC 4954 §4): the server cannot take a login here"
    if a.port == 25 and chosen.port != 25:
        return "port 25 is the relay port, often blocked for clients; submission uses 465/587 (RFC 8314 §3.3)"
    if a.cert_problem is not None:
        return a.cert_problem
    if a.source_rank > chosen.source_rank:
        return "works as well; the recommendation comes from a stronger source"
    if (a.srv_priority, -(a.srv_weight or 0)) != (chosen.srv_priority, -(chosen.srv_weight or 0)):
        return "works as well; lower SRV preference (priority/weight, RFC 2782)"
    return "works as well; an equivalent alternative found later"
