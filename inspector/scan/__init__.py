"""``scan``, ``history``, ``diff`` and ``report``: the probe's judgement over many servers, remembered.

targets.py (target lines, exclusions, DNS), politeness.py (limits and
backoff), plan.py (target -> sessions -> DANE/MTA-STS facts), runner.py
(threads and the one writer), record.py (what a row holds), storage.py
(SQLite/PostgreSQL with migrations), compare.py (history, diff, report).
"""
