-- The decision rows (one per decision) and check rows (one per check of a
-- decision), the same columns as ClickHouse's tables. The primary keys make
-- writes idempotent: rows are inserted with ON CONFLICT DO NOTHING, so a
-- redelivered decision (and its checks) is stored once and counts once.
-- Times are TIMESTAMP (no time zone) holding UTC, whole seconds.
CREATE TABLE IF NOT EXISTS decisions (
    decision_id VARCHAR PRIMARY KEY,
    tenant_id VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    node_id VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    reason_codes VARCHAR[] NOT NULL,
    policy_id VARCHAR NOT NULL,
    policy_version INTEGER NOT NULL,
    document_type VARCHAR NOT NULL,
    issuing_country VARCHAR NOT NULL,
    applicant_country VARCHAR NOT NULL,
    screening_list_versions VARCHAR[] NOT NULL,
    screening_hit_list_versions VARCHAR[] NOT NULL,
    screening_hits UINTEGER NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    latency_ms DOUBLE NOT NULL,
    written_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS decision_checks (
    decision_id VARCHAR NOT NULL,
    tenant_id VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    check_kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    latency_ms DOUBLE NOT NULL,
    attempts INTEGER NOT NULL,
    reason_codes VARCHAR[] NOT NULL,
    written_at TIMESTAMP NOT NULL,
    PRIMARY KEY (decision_id, check_kind)
);
