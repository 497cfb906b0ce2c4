-- Schema version 3: which network a result was seen from (scan --vantage, or the Dask worker's).
ALTER TABLE results ADD COLUMN vantage TEXT;
CREATE INDEX results_vantage ON results (vantage);
