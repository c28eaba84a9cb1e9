-- The dashboard aggregates of the ClickHouse schema, as plain views: the
-- tables hold each decision once, so count(*) is exact.
CREATE VIEW IF NOT EXISTS outcomes_daily AS
SELECT CAST(decided_at AS DATE) AS day, tenant_id, outcome, count(*) AS decisions
FROM decisions
GROUP BY day, tenant_id, outcome;

CREATE VIEW IF NOT EXISTS reason_codes_daily AS
SELECT CAST(decided_at AS DATE) AS day, tenant_id, reason_code, count(*) AS decisions
FROM (SELECT decided_at, tenant_id, unnest(list_distinct(reason_codes)) AS reason_code FROM decisions)
GROUP BY day, tenant_id, reason_code;
