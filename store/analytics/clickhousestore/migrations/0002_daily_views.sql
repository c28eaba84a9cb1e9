-- Dashboard aggregates maintained on insert. A materialized view sees every
-- inserted block, redeliveries included, before ReplacingMergeTree has
-- merged anything: plain counters (count(), SummingMergeTree) would count a
-- redelivered decision twice. These tables keep uniqExact states over the
-- decision id instead, so a decision counts once however often it is
-- written; read them with uniqExactMerge(...) grouped by their key.
CREATE TABLE IF NOT EXISTS outcomes_daily (
    day Date,
    tenant_id String,
    outcome String,
    decisions AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, outcome);

CREATE MATERIALIZED VIEW IF NOT EXISTS outcomes_daily_mv TO outcomes_daily AS
SELECT toDate(decided_at) AS day, tenant_id, outcome, uniqExactState(decision_id) AS decisions
FROM decisions
GROUP BY day, tenant_id, outcome;

CREATE TABLE IF NOT EXISTS reason_codes_daily (
    day Date,
    tenant_id String,
    reason_code String,
    decisions AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, reason_code);

CREATE MATERIALIZED VIEW IF NOT EXISTS reason_codes_daily_mv TO reason_codes_daily AS
SELECT toDate(decided_at) AS day, tenant_id, reason_code, uniqExactState(decision_id) AS decisions
FROM decisions
ARRAY JOIN arrayDistinct(reason_codes) AS reason_code
GROUP BY day, tenant_id, reason_code;
