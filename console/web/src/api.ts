/**
 * The console API client (docs/console-api.md): every call and every wire
 * shape of the page lives in this one module, so a change of the Go side's
 * field names is a change here only.
 *
 * The login cookie is HttpOnly and travels by itself (same origin); the
 * CSRF token returned at login is kept in sessionStorage (gone with the
 * tab) and sent as X-CSRF-Token on every POST.
 */

export const API = "/console/api";
const CSRF_KEY = "ekyc.console.csrf";

export type Role = "reviewer" | "senior_reviewer" | "admin" | string;
export type CaseState = "open" | "assigned" | "pending_confirmation" | "escalated" | "decided" | string;
export type Priority = "sanctions" | "duplicate_identity" | "liveness" | "document" | "other" | string;
export type Outcome = "APPROVE" | "REJECT";

export interface Reviewer {
  id: string;
  username: string;
  role: Role;
  tenant: string;
}

export interface Login {
  reviewer: Reviewer;
  csrf_token: string;
  expires_at: string;
}

export interface Ruling {
  outcome: Outcome | string;
  reason_codes: string[];
  comment?: string;
  by: string;
  at: string;
  confirmed_by?: string;
  confirmed_at?: string;
}

export interface HistoryEntry {
  at: string;
  actor: string;
  action: string;
  from?: string;
  to: string;
  outcome?: string;
  reason_codes?: string[];
  previous?: string;
  comment?: string;
}

export interface CaseSummary {
  id: string;
  session_id: string;
  decision_id: string;
  reasons: string[];
  priority: Priority;
  state: CaseState;
  escalated: boolean;
  opened_at: string;
  due_at: string;
  remaining_seconds: number;
  overdue: boolean;
  assignee?: string;
  claim_expires_at?: string;
  claim_live: boolean;
  held_by_me: boolean;
  claimable: boolean;
  proposal?: Ruling;
  decision?: Ruling;
  published: boolean;
  published_at?: string;
  version: number;
}

export interface Signal {
  name: string;
  unit?: string;
  number?: number;
  flag?: boolean;
  text?: string;
}

export interface Hit {
  entity_id: string;
  source: string;
  list_version?: string;
  entity_type?: string;
  name: string;
  matched_name: string;
  score: number;
  components?: Record<string, number>;
  programs: string[];
  pep: boolean;
}

export interface Check {
  kind: string;
  status: string;
  score: number;
  reason_codes: string[];
  error?: string;
  attempts?: number;
  signals: Signal[];
  screening_hits?: Hit[];
}

export interface MRZ {
  readable: boolean;
  format?: string;
  document_code?: string;
  issuing_state?: string;
  document_number?: string;
  nationality?: string;
  sex?: string;
  surname?: string;
  given_names?: string;
  birth_date?: string;
  expiry_date?: string;
  valid: boolean;
  checks?: { field: string; ok: boolean; code?: string }[];
  problems?: { code: string; field?: string }[];
}

export interface Dedup {
  session_id?: string;
  other_tenant: boolean;
  similarity?: number;
  count?: number;
  status?: string;
  outcome?: string;
  images: string[];
}

export interface DecisionView {
  id: string;
  outcome: string;
  score: number;
  reason_codes: string[];
  policy_id?: string;
  policy_version?: number;
  decided_at?: string;
  reviewed?: boolean;
  reviewer_id?: string;
  confirmed_by?: string;
}

export interface Evidence {
  available: boolean;
  session?: { id: string; status: string; created_at?: string; submitted_at?: string; erased_at?: string; policy_id?: string };
  requested_checks: string[];
  applicant?: {
    given_names: string;
    surname: string;
    date_of_birth?: string;
    nationality?: string;
    address?: { lines?: string[]; city?: string; postal_code?: string; country?: string };
  };
  document?: { type?: string; issuing_country?: string; mrz_lines?: string[]; mrz?: MRZ; mrz_source?: "request" | "image" };
  checks: Check[];
  face?: { match_similarity?: number; match_ok?: boolean; liveness_score?: number; liveness_ok?: boolean };
  screening_hits: Hit[];
  dedup: Dedup[];
  decision?: DecisionView;
  final_decision?: DecisionView;
  images: string[];
}

export interface CaseDetail extends CaseSummary {
  history?: HistoryEntry[];
  evidence?: Evidence;
}

export interface CaseList {
  cases: CaseSummary[];
  now: string;
}

/** An error answer of the console API (status 0: no answer). */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function csrfToken(): string | null {
  try {
    return sessionStorage.getItem(CSRF_KEY);
  } catch {
    return null;
  }
}

function setCSRF(t: string | null): void {
  try {
    if (t) sessionStorage.setItem(CSRF_KEY, t);
    else sessionStorage.removeItem(CSRF_KEY);
  } catch {
    /* storage disabled: the token lives only in this page */
  }
}

async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method === "POST") {
    headers["Content-Type"] = "application/json";
    const t = csrfToken();
    if (t) headers["X-CSRF-Token"] = t;
  }
  let res: Response;
  try {
    res = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? (method === "POST" ? "{}" : undefined) : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "the node could not be reached");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(res.status, "bad_response", `unexpected response (HTTP ${res.status})`);
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `HTTP ${res.status}`);
  }
  return data as T;
}

const seg = encodeURIComponent;

export async function login(tenant: string, username: string, password: string): Promise<Login> {
  const l = await call<Login>("POST", "/login", { tenant, username, password });
  setCSRF(l.csrf_token);
  return l;
}

export async function logout(): Promise<void> {
  try {
    await call<void>("POST", "/logout");
  } finally {
    setCSRF(null);
  }
}

export function me(): Promise<{ reviewer: Reviewer; expires_at: string }> {
  return call("GET", "/me");
}

export function listCases(q: { state?: string; priority?: string; limit?: number } = {}): Promise<CaseList> {
  const p = new URLSearchParams();
  if (q.state) p.set("state", q.state);
  if (q.priority) p.set("priority", q.priority);
  if (q.limit) p.set("limit", String(q.limit));
  const s = p.toString();
  return call("GET", "/cases" + (s ? "?" + s : ""));
}

export function getCase(id: string): Promise<CaseDetail> {
  return call("GET", `/cases/${seg(id)}`);
}

/** imageURL is the URL of a case image, for an <img src> (cookie-authenticated GET). */
export function imageURL(caseID: string, name: string): string {
  return `${API}/cases/${seg(caseID)}/images/${seg(name)}`;
}

/** relatedImageURL is the URL of an image of a duplicate session of the case. */
export function relatedImageURL(caseID: string, session: string, name: string): string {
  return `${API}/cases/${seg(caseID)}/related/${seg(session)}/images/${seg(name)}`;
}

type Action = "claim" | "release" | "decide" | "confirm" | "reject-confirmation" | "escalate" | "publish";

async function act(id: string, action: Action, body?: unknown): Promise<CaseDetail> {
  const r = await call<{ case: CaseDetail }>("POST", `/cases/${seg(id)}/${action}`, body);
  return r.case;
}

export const claim = (id: string) => act(id, "claim");
export const release = (id: string) => act(id, "release");
export const decide = (id: string, outcome: Outcome, reason_codes: string[], comment: string) =>
  act(id, "decide", { outcome, reason_codes, comment });
export const confirm = (id: string, comment: string) => act(id, "confirm", comment ? { comment } : {});
export const rejectConfirmation = (id: string, comment: string) => act(id, "reject-confirmation", { comment });
export const escalate = (id: string, comment: string) => act(id, "escalate", { comment });
export const publish = (id: string) => act(id, "publish");
