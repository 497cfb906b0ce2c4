-- Schema version 1: scans and one row per target per scan.
CREATE TABLE scans (
    id {AUTO_ID},
    started_at TEXT NOT NULL,
    ended_at TEXT,
    status TEXT NOT NULL,
    arguments TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    target_list TEXT NOT NULL
);
CREATE INDEX scans_target_list ON scans (target_list);
CREATE TABLE results (
    scan_id BIGINT NOT NULL REFERENCES scans (id),
    target TEXT NOT NULL,
    host TEXT,
    address TEXT,
    port INTEGER,
    status TEXT NOT NULL,
    starttls INTEGER,
    tls_version TEXT,
    trusted INTEGER,
    not_after TEXT,
    dane INTEGER,
    mta_sts TEXT,
    finding_ids TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (scan_id, target)
);
CREATE INDEX results_target ON results (target);
CREATE INDEX results_address ON results (address);
CREATE INDEX results_tls_version ON results (tls_version);
CREATE INDEX results_trusted ON results (trusted);
CREATE INDEX results_not_after ON results (not_after);
