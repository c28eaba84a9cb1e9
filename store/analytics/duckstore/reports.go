package duckstore

import (
	"database/sql"
	"strings"

	"github.com/openekyc/ekyc/store/analytics"
)

// reportSQL holds every report's statement. {where} stands for the filter
// on decided_at (and tenant_id when Params.Tenant is set); $from, $to,
// $tenant and $limit are bound as named parameters. The semantics are the
// ClickHouse statements' (clickhousestore): same filters, groups, order,
// nearest-rank quantiles. docs/analytics.md shows them with the tenant
// filter; a test keeps the two in step.
var reportSQL = map[string]string{
	analytics.ReportOutcomesDaily: `SELECT
    CAST(CAST(decided_at AS DATE) AS VARCHAR) AS day,
    tenant_id AS tenant,
    CAST(count(*) AS BIGINT) AS decisions,
    CAST(count_if(outcome = 'APPROVE') AS BIGINT) AS approved,
    CAST(count_if(outcome = 'REVIEW') AS BIGINT) AS review,
    CAST(count_if(outcome = 'REJECT') AS BIGINT) AS rejected,
    count_if(outcome = 'APPROVE') / count(*) AS approve_rate,
    count_if(outcome = 'REVIEW') / count(*) AS review_rate,
    count_if(outcome = 'REJECT') / count(*) AS reject_rate
FROM decisions
WHERE {where}
GROUP BY day, tenant
ORDER BY day, tenant
LIMIT $limit`,

	analytics.ReportTopReasonCodes: `SELECT
    reason_code,
    CAST(count(*) AS BIGINT) AS decisions,
    count(*) / (SELECT count(*) FROM decisions WHERE {where}) AS share
FROM (
    SELECT unnest(list_distinct(reason_codes)) AS reason_code
    FROM decisions
    WHERE {where}
)
GROUP BY reason_code
ORDER BY decisions DESC, reason_code
LIMIT $limit`,

	analytics.ReportSTPRate: `SELECT
    tenant_id AS tenant,
    CAST(count(*) AS BIGINT) AS decisions,
    CAST(count_if(outcome IN ('APPROVE', 'REJECT')) AS BIGINT) AS straight_through,
    count_if(outcome IN ('APPROVE', 'REJECT')) / count(*) AS stp_rate,
    CAST(count_if(outcome = 'APPROVE') AS BIGINT) AS auto_approved,
    count_if(outcome = 'APPROVE') / count(*) AS auto_approve_rate
FROM decisions
WHERE {where}
GROUP BY tenant
ORDER BY tenant
LIMIT $limit`,

	analytics.ReportCheckLatency: `SELECT
    check_kind,
    CAST(len(l) AS BIGINT) AS runs,
    l[(50 * len(l) + 99) // 100] AS p50_ms,
    l[(95 * len(l) + 99) // 100] AS p95_ms,
    l[(99 * len(l) + 99) // 100] AS p99_ms
FROM (
    SELECT check_kind, list_sort(list(latency_ms)) AS l
    FROM decision_checks
    WHERE {where}
    GROUP BY check_kind
    UNION ALL
    SELECT 'END_TO_END' AS check_kind, list_sort(list(latency_ms)) AS l
    FROM decisions
    WHERE {where}
)
WHERE len(l) > 0
ORDER BY check_kind
LIMIT $limit`,

	analytics.ReportCheckStatus: `SELECT
    check_kind,
    status,
    CAST(count(*) AS BIGINT) AS results,
    CAST(count(*) AS DOUBLE) / CAST(sum(count(*)) OVER (PARTITION BY check_kind) AS DOUBLE) AS share,
    avg(score) AS avg_score
FROM decision_checks
WHERE {where}
GROUP BY check_kind, status
ORDER BY check_kind, status
LIMIT $limit`,

	analytics.ReportScreeningHitRate: `SELECT
    list_version,
    CAST(count(*) AS BIGINT) AS screened,
    CAST(count_if(list_contains(hits, list_version)) AS BIGINT) AS with_hits,
    count_if(list_contains(hits, list_version)) / count(*) AS hit_rate
FROM (
    SELECT unnest(screening_list_versions) AS list_version, screening_hit_list_versions AS hits
    FROM decisions
    WHERE {where}
)
GROUP BY list_version
ORDER BY list_version
LIMIT $limit`,

	analytics.ReportDocumentTypes: `SELECT
    issuing_country,
    document_type,
    CAST(count(*) AS BIGINT) AS decisions,
    count_if(outcome = 'APPROVE') / count(*) AS approve_rate
FROM decisions
WHERE {where} AND document_type != ''
GROUP BY issuing_country, document_type
ORDER BY issuing_country, decisions DESC, document_type
LIMIT $limit`,
}

const (
	whereTime   = "decided_at >= $from AND decided_at < $to"
	whereTenant = " AND tenant_id = $tenant"
)

// ReportSQL returns the statement of report name (which must exist) for
// resolved parameters, and its arguments.
func ReportSQL(name string, p analytics.Resolved) (string, []any) {
	where := whereTime
	args := []any{sql.Named("from", p.From), sql.Named("to", p.To), sql.Named("limit", int64(p.Limit))}
	if p.Tenant != "" {
		where += whereTenant
		args = append(args, sql.Named("tenant", p.Tenant))
	}
	return strings.ReplaceAll(reportSQL[name], "{where}", where), args
}
