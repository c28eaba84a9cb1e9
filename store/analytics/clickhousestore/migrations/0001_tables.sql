-- The decision rows (one per decision) and check rows (one per check of a
-- decision). ReplacingMergeTree collapses rows with the same sorting key
-- (tenant_id, decided_at, decision_id[, check_kind]) within a partition at
-- merge time; reports read with FINAL so a redelivered decision never counts
-- twice, merged or not. A decision id always comes with the same decided_at
-- (the stored decision is re-emitted as stored), so its copies share a
-- partition and a key. No LowCardinality, DateTime64 or Map: Debian's
-- ClickHouse 18.16 runs these statements as they are.
CREATE TABLE IF NOT EXISTS decisions (
    decision_id String,
    tenant_id String,
    session_id String,
    event_id String,
    node_id String,
    outcome String,
    score Float64,
    reason_codes Array(String),
    policy_id String,
    policy_version Int32,
    document_type String,
    issuing_country String,
    applicant_country String,
    screening_list_versions Array(String),
    screening_hit_list_versions Array(String),
    screening_hits UInt32,
    submitted_at DateTime('UTC'),
    decided_at DateTime('UTC'),
    latency_ms Float64,
    written_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(decided_at)
ORDER BY (tenant_id, decided_at, decision_id);

CREATE TABLE IF NOT EXISTS decision_checks (
    decision_id String,
    tenant_id String,
    decided_at DateTime('UTC'),
    check_kind String,
    status String,
    score Float64,
    latency_ms Float64,
    attempts Int32,
    reason_codes Array(String),
    written_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(decided_at)
ORDER BY (tenant_id, decided_at, decision_id, check_kind);
