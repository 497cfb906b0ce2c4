"""Plain text tables in tabulate's "simple" format, without importing tabulate.

A probe prints a few small tables; tabulate's import (its regular
expressions, html.entities, textwrap) costs more start-up time than the whole
loopback SMTP session, so the probe's renderer formats them itself. The
layout is tabulate's: each column as wide as its widest cell and at least
two more than its header, two spaces between columns, a dashed rule under
the headers, cells stripped and left-aligned, lines without trailing blanks,
a cell with line breaks spread over several lines. ``tests/test_newcomer.py``
checks the output against tabulate itself.
"""

from __future__ import annotations


def simple_table(rows, headers) -> str:
    """``rows`` (sequences of cells; None is empty) under ``headers``, as text."""
    head = [str(h) for h in headers]
    body = [[_lines(cell) for cell in row] for row in rows]
    if any(len(cell) > 1 for row in body for cell in row):  # tabulate's multi-line mode drops blank rows
        body = [row for row in body if any(line for cell in row for line in cell)]
    columns = max([len(head)] + [len(row) for row in body])
    head += [""] * (columns - len(head))
    for row in body:
        row += [[""]] * (columns - len(row))
    widths = [max([len(head[i]) + 2] + [len(line) for row in body for line in row[i]])
              for i in range(columns)]
    out = [_join(head, widths), _join(["-" * w for w in widths], widths)]
    for row in body:
        for index in range(max(len(cell) for cell in row)):
            out.append(_join([cell[index] if index < len(cell) else "" for cell in row], widths))
    return "\n".join(out)


def _lines(cell) -> list[str]:
    text = "" if cell is None else str(cell).strip()
    return text.split("\n") if "\n" in text else [text]


def _join(cells, widths) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
