"""Runs the ClickHouse schema, report statements and dashboard queries on a
current ClickHouse engine, in process, with chDB (PyPI chdb-core), for
TestCurrentClickHouseChDB. Not the native protocol: the statements only.

    python chdb_run.py <work dir> <migrations dir> <dashboard json>

<work dir> holds decisions.jsonl and checks.jsonl (rows as written, with
redelivered copies) and queries.json ([{"id", "sql"}], parameters already
bound); the script writes results.json.
"""
import json
import os
import re
import sys

from chdb import session

work, migrations, dashboard = sys.argv[1:4]


def split(text):
    """The statements of a migration file, as sqlfiles.Split reads them."""
    out, cur = [], []
    for line in text.split("\n"):
        t = line.strip()
        if not t or t.startswith("--"):
            continue
        line = line.rstrip()
        if line.endswith(";"):
            cur.append(line[:-1])
            out.append("\n".join(cur).strip())
            cur = []
        else:
            cur.append(line)
    if "".join(cur).strip():
        out.append("\n".join(cur).strip())
    return out


s = session.Session(os.path.join(work, "db"))
s.query("CREATE DATABASE IF NOT EXISTS ekyc")
s.query("USE ekyc")
for name in sorted(os.listdir(migrations)):
    for stmt in split(open(os.path.join(migrations, name)).read()):
        s.query(stmt)
        s.query(stmt)  # every statement can run twice

DCOLS = ("decision_id, tenant_id, session_id, event_id, node_id, outcome, score, reason_codes, policy_id, "
         "policy_version, document_type, issuing_country, applicant_country, screening_list_versions, "
         "screening_hit_list_versions, screening_hits, submitted_at, decided_at, latency_ms")
CCOLS = "decision_id, tenant_id, decided_at, check_kind, status, score, latency_ms, attempts, reason_codes"


def insert(table, cols, path, chunk):
    # Several inserts, so copies of a decision land in different parts.
    n = sum(1 for _ in open(path))
    for lo in range(0, n, chunk):
        s.query(f"INSERT INTO ekyc.{table} ({cols}) SELECT {cols} FROM file('{path}', 'JSONEachRow') "
                f"WHERE rowNumberInAllBlocks() >= {lo} AND rowNumberInAllBlocks() < {lo + chunk}")


insert("decisions", DCOLS, os.path.join(work, "decisions.jsonl"), 400)
insert("decision_checks", CCOLS, os.path.join(work, "checks.jsonl"), 1000)


def scalar(q):
    return int(json.loads(s.query(q, "JSONCompact").data())["data"][0][0])


out = {
    "version": json.loads(s.query("SELECT version()", "JSONCompact").data())["data"][0][0],
    "raw": scalar("SELECT count() FROM ekyc.decisions"),
    "final": scalar("SELECT count() FROM ekyc.decisions FINAL"),
    "mv": scalar("SELECT uniqExactMerge(decisions) FROM ekyc.outcomes_daily"),
    "results": {},
    "panels": {},
}
for q in json.load(open(os.path.join(work, "queries.json"))):
    out["results"][q["id"]] = json.loads(s.query(q["sql"], "JSONCompact").data())["data"]

frm, to = int(os.environ.get("CHDB_FROM", "0")), int(os.environ.get("CHDB_TO", "4102444800"))
tenants = os.environ.get("CHDB_TENANTS", "''")
for p in json.load(open(dashboard))["panels"]:
    q = p["targets"][0]["rawSql"]
    q = re.sub(r"\$__timeFilter\(([a-z_]+)\)",
               lambda m: f"{m.group(1)} >= toDateTime({frm}) AND {m.group(1)} <= toDateTime({to})", q)
    q = (q.replace("$__fromTime", f"toDateTime({frm})").replace("$__toTime", f"toDateTime({to})")
         .replace("${db}", "ekyc").replace("${tenant:singlequote}", tenants))
    out["panels"][p["title"]] = len(json.loads(s.query(q, "JSONCompact").data())["data"])

json.dump(out, open(os.path.join(work, "results.json"), "w"))
