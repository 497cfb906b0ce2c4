-- Schema version 2: one row per finding id, indexed, so "which targets have X" is a lookup.
CREATE TABLE result_findings (
    scan_id BIGINT NOT NULL,
    target TEXT NOT NULL,
    finding_id TEXT NOT NULL,
    PRIMARY KEY (scan_id, target, finding_id),
    FOREIGN KEY (scan_id, target) REFERENCES results (scan_id, target)
);
CREATE INDEX result_findings_id ON result_findings (finding_id);
