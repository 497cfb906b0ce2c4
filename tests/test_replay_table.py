"""The replay's session and findings tables (render/table.escaped_table, tabulate's "simple"
layout written without tabulate) are exactly the text tabulate's "simple" format gives through
render/untrusted.table, whatever the cells hold."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.render.table import escaped_table as simple_table
from inspector.render.untrusted import table

_CELL = st.one_of(
    st.integers(min_value=-10**6, max_value=10**9),
    st.text(alphabet=st.sampled_from(" abcXYZ019-:.,;[]()'\"\\"), max_size=30),   # plain ASCII
    # controls, DEL, C1, Latin-1, Cyrillic and the invisible format characters shown() escapes
    st.text(alphabet=st.characters(max_codepoint=0x4FF), max_size=12),
    st.text(alphabet=st.sampled_from("a\u202e\u200b\ufeff\u2066"), max_size=6),
)


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=1, max_value=6).flatmap(lambda width: st.tuples(
    st.lists(st.text(alphabet=st.sampled_from(" #abc()"), max_size=12), min_size=width,
             max_size=width),
    st.lists(st.lists(_CELL, min_size=width, max_size=width), max_size=8))))
def test_simple_table_is_tabulates_simple_format(headers_and_rows):
    headers, rows = headers_and_rows
    assert simple_table(rows, headers) == table(rows, headers, tablefmt="simple",
                                                disable_numparse=True)


def test_a_session_row_and_an_empty_table():
    headers = ["#", "client", "server", "ports", "start (UTC)", "duration s", "TLS", "AUTH",
               "findings"]
    row = (1, "127.1.0.0", "127.0.0.25", "1024->25", "00:13:20.000", "0.004", "-", "-",
           "tls-not-used")
    assert simple_table([row], headers) == table([row], headers, tablefmt="simple",
                                                 disable_numparse=True)
    assert simple_table([], headers) == table([], headers, tablefmt="simple", disable_numparse=True)
