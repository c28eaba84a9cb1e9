// Package dbverify is the database-verification check: the applicant's
// declared data (name, date of birth, document number, ...) is matched
// against a government or credit-bureau registry, and the registry's
// per-field verdicts become a check result.
//
// A Connector asks one registry. HTTPConnector is the generic one: a YAML
// mapping file (see ParseMapping and docs/dbverify.md) describes the URL,
// the credential header (read from an environment variable, never written in
// the file), a JSON request template whose placeholders are filled with the
// query's fields, and the dot paths of the response fields that carry the
// registry's verdicts. Each attempt has a timeout; connection errors,
// timeouts, HTTP 429 and 5xx are retried with jittered exponential backoff;
// a circuit breaker stops calling a registry that keeps failing.
//
// Nothing here logs, and no error carries applicant data or a registry's
// request or response body: errors name the field or path that was wrong,
// never its value.
//
// The package knows nothing of actors, Kafka or stores; node/dbverify.go
// turns a Connector into the session actor's checker.
package dbverify
