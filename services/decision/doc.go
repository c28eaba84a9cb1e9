// Package decision turns check results into a verification outcome
// (APPROVE, REVIEW or REJECT) under a per-tenant, versioned policy.
//
// A policy (YAML, see README.md) has three parts:
//
//   - score: weighted signals give a 0..100 score, and bands map it to an
//     outcome;
//   - status_outcomes: each check's status maps to an outcome;
//   - rules: CEL conditions over the check results that, when true, force an
//     outcome and add a reason code.
//
// The decision is the most severe (REJECT > REVIEW > APPROVE) of all of them.
// A rule that fails to evaluate sends the decision to at least REVIEW with
// DECISION_RULE_ERROR; it is never silently ignored.
//
// ParsePolicy validates and compiles a policy once (every CEL rule becomes a
// cel.Program with a cost limit); Policy.Decide then only evaluates. A Policy
// is immutable and safe for concurrent use, and Decide is a pure function of
// its Input: no clock, no randomness, no I/O, deterministic reason-code
// order, so a decision recomputed after a crash is identical.
//
// Registry holds policies by id; LoadDir reads a directory of *.yaml files.
// Registry.Get("kyc") returns the latest version, Get("kyc@2") an exact one.
//
// The package imports only the ekyc protos, cel-go, yaml.v3 and the standard
// library.
package decision
