"""Cutting a target list into cluster partitions so the politeness limits hold across every worker.

Partitions are cut **by address**: the client looks up the addresses each
target will be connected to (DNS only, nothing is sent to a server), joins
targets that share an address (union-find: two domains with the same MX host
are one group), and puts every group in exactly one partition. So one server
is only ever in one partition, and that partition's own
:class:`~inspector.scan.politeness.Politeness` is the only one that can
connect to it: the per-address limit holds cluster-wide without a message
to anyone. A /24 (or /48) may be spread over at most ``per_network``
partitions; each gets ``per_network // n`` of its cap, so the sum stays
within ``--per-network``. The alternative, asking the scheduler for a lock
(``distributed.Semaphore``) before every session, costs a round trip per
connection and a lease that a killed worker holds until it times out.

A name whose address changes between the client's lookup and the worker's
is scanned at the new address under the partition's limits only (DNS drift;
rare within one scan).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ..frozen import field, mutable
from .targets import DOMAIN, Exclusions, Resolver, Target, first_addresses, mx_hosts, prefix_of

DEFAULT_SIZE = 200


@mutable(eq=False)   # identity: partitions are kept in lists and compared by who they are
class Partition:
    targets: list[Target] = field(default_factory=list)
    prefixes: set[str] = field(default_factory=set)
    network_limits: dict[str, int] = field(default_factory=dict)   #: this partition's share per /24


def target_addresses(target: Target, options, exclusions: Exclusions) -> tuple[str, ...]:
    """The addresses a scan of ``target`` connects to, by the same lookups as ``plan_target``."""
    if exclusions.name_excluded(target.host):
        return ()
    deadline_at = time.monotonic() + options.target_deadline
    resolver = Resolver(options.dns_server, options.timeout)
    if target.kind != DOMAIN:
        return resolver.addresses(target.host, deadline_at)[0][:1]
    dns = resolver.client(deadline_at)
    found = []
    for _, host in mx_hosts(dns, target.host)[0]:
        addresses = first_addresses(dns, host)[0]
        if addresses:
            found.append(addresses[0])
    return tuple(found)


def resolve_all(targets: list[Target], options, exclusions: Exclusions,
                threads: int) -> list[tuple[str, ...]]:
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return list(pool.map(lambda t: target_addresses(t, options, exclusions), targets))


def _groups(addresses: list[tuple[str, ...]]) -> list[list[int]]:
    """Indexes of targets, grouped so that targets sharing an address are together (union-find)."""
    parent = list(range(len(addresses)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, found in enumerate(addresses):
        for address in found:
            if address in owner:
                parent[root(i)] = root(owner[address])
            else:
                owner[address] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(addresses)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def partition(targets: list[Target], addresses: list[tuple[str, ...]], *, size: int = DEFAULT_SIZE,
              per_network: int = 8) -> list[Partition]:
    """Partitions of about ``size`` targets; no address in two, no /24 in more than ``per_network``."""
    groups = []
    for members in _groups(addresses):
        prefixes = {prefix_of(a) for i in members for a in addresses[i]}
        groups.append((min(prefixes, default=""), members, prefixes))
    groups.sort(key=lambda g: (g[0], g[1][0]))
    parts: list[Partition] = []
    holders: dict[str, list[Partition]] = {}      #: prefix -> the partitions holding some of it

    def fits(part: Partition, prefixes: set[str], extra: int) -> bool:
        new = prefixes - part.prefixes
        return len(part.targets) + extra <= size and all(len(holders.get(p, ())) < per_network for p in new)

    for _, members, prefixes in groups:
        near = {id(p): p for pre in prefixes for p in holders.get(pre, ())}
        choice = min((p for p in near.values() if fits(p, prefixes, len(members))),
                     key=lambda p: len(p.targets), default=None)
        if choice is None and all(len(holders.get(p, ())) < per_network for p in prefixes):
            choice = Partition()
            parts.append(choice)
        if choice is None:   # every partition near is full: the least loaded one takes more
            choice = min(near.values(), key=lambda p: (-len(prefixes & p.prefixes), len(p.targets)))
            for pre in sorted(prefixes - choice.prefixes):
                if len(holders.get(pre, ())) >= per_network:
                    _merge(choice, holders[pre][0], parts, holders)
        choice.targets += [targets[i] for i in members]
        for pre in prefixes - choice.prefixes:
            holders.setdefault(pre, []).append(choice)
        choice.prefixes |= prefixes
    for part in parts:
        part.network_limits = {pre: per_network // len(holders[pre]) for pre in part.prefixes}
    return [p for p in parts if p.targets]


def _merge(into: Partition, other: Partition, parts: list[Partition], holders: dict) -> None:
    """Fold ``other`` into ``into`` (a /24 that can be spread no further)."""
    into.targets += other.targets
    for pre in other.prefixes:
        holding = holders[pre]
        holding.remove(other)
        if into not in holding:
            holding.append(into)
    into.prefixes |= other.prefixes
    other.targets, other.prefixes = [], set()
    parts.remove(other)
