package clickhousestore

import (
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/openekyc/ekyc/store/analytics"
)

// reportSQL holds every report's statement. {where} stands for the filter
// on decided_at (and tenant_id when Params.Tenant is set); @from, @to,
// @tenant and @limit are bound by the driver on the client side (18.16 has
// no server-side parameters). docs/analytics.md shows them with the tenant
// filter; a test keeps the two in step.
var reportSQL = map[string]string{
	analytics.ReportOutcomesDaily: `SELECT
    toString(toDate(decided_at)) AS day,
    tenant_id AS tenant,
    toInt64(count()) AS decisions,
    toInt64(countIf(outcome = 'APPROVE')) AS approved,
    toInt64(countIf(outcome = 'REVIEW')) AS review,
    toInt64(countIf(outcome = 'REJECT')) AS rejected,
    countIf(outcome = 'APPROVE') / count() AS approve_rate,
    countIf(outcome = 'REVIEW') / count() AS review_rate,
    countIf(outcome = 'REJECT') / count() AS reject_rate
FROM decisions FINAL
WHERE {where}
GROUP BY day, tenant
ORDER BY day, tenant
LIMIT @limit`,

	analytics.ReportTopReasonCodes: `SELECT
    reason_code,
    toInt64(count()) AS decisions,
    count() / (SELECT count() FROM decisions FINAL WHERE {where}) AS share
FROM decisions FINAL
ARRAY JOIN arrayDistinct(reason_codes) AS reason_code
WHERE {where}
GROUP BY reason_code
ORDER BY decisions DESC, reason_code
LIMIT @limit`,

	analytics.ReportSTPRate: `SELECT
    tenant_id AS tenant,
    toInt64(count()) AS decisions,
    toInt64(countIf(outcome IN ('APPROVE', 'REJECT'))) AS straight_through,
    countIf(outcome IN ('APPROVE', 'REJECT')) / count() AS stp_rate,
    toInt64(countIf(outcome = 'APPROVE')) AS auto_approved,
    countIf(outcome = 'APPROVE') / count() AS auto_approve_rate
FROM decisions FINAL
WHERE {where}
GROUP BY tenant
ORDER BY tenant
LIMIT @limit`,

	analytics.ReportCheckLatency: `SELECT
    check_kind,
    toInt64(length(l)) AS runs,
    l[intDiv(50 * length(l) + 99, 100)] AS p50_ms,
    l[intDiv(95 * length(l) + 99, 100)] AS p95_ms,
    l[intDiv(99 * length(l) + 99, 100)] AS p99_ms
FROM (
    SELECT check_kind, arraySort(groupArray(latency_ms)) AS l
    FROM decision_checks FINAL
    WHERE {where}
    GROUP BY check_kind
    UNION ALL
    SELECT 'END_TO_END' AS check_kind, arraySort(groupArray(latency_ms)) AS l
    FROM decisions FINAL
    WHERE {where}
)
WHERE length(l) > 0
ORDER BY check_kind
LIMIT @limit`,

	analytics.ReportCheckStatus: `SELECT
    check_kind,
    status,
    toInt64(n) AS results,
    n / total AS share,
    avg_score
FROM (
    SELECT check_kind, status, count() AS n, avg(score) AS avg_score
    FROM decision_checks FINAL
    WHERE {where}
    GROUP BY check_kind, status
) AS c
ALL INNER JOIN (
    SELECT check_kind, count() AS total
    FROM decision_checks FINAL
    WHERE {where}
    GROUP BY check_kind
) AS k USING check_kind
ORDER BY check_kind, status
LIMIT @limit`,

	analytics.ReportScreeningHitRate: `SELECT
    list_version,
    toInt64(count()) AS screened,
    toInt64(countIf(has(screening_hit_list_versions, list_version))) AS with_hits,
    countIf(has(screening_hit_list_versions, list_version)) / count() AS hit_rate
FROM decisions FINAL
ARRAY JOIN screening_list_versions AS list_version
WHERE {where}
GROUP BY list_version
ORDER BY list_version
LIMIT @limit`,

	analytics.ReportDocumentTypes: `SELECT
    issuing_country,
    document_type,
    toInt64(count()) AS decisions,
    countIf(outcome = 'APPROVE') / count() AS approve_rate
FROM decisions FINAL
WHERE {where} AND document_type != ''
GROUP BY issuing_country, document_type
ORDER BY issuing_country, decisions DESC, document_type
LIMIT @limit`,
}

const (
	whereTime   = "decided_at >= @from AND decided_at < @to"
	whereTenant = " AND tenant_id = @tenant"
)

// ReportSQL returns the statement of report name (which must exist) for
// resolved parameters, and its driver arguments.
func ReportSQL(name string, p analytics.Resolved) (string, []any) {
	where := whereTime
	args := []any{
		clickhouse.Named("from", p.From),
		clickhouse.Named("to", p.To),
		clickhouse.Named("limit", p.Limit),
	}
	if p.Tenant != "" {
		where += whereTenant
		args = append(args, clickhouse.Named("tenant", p.Tenant))
	}
	return strings.ReplaceAll(reportSQL[name], "{where}", where), args
}
