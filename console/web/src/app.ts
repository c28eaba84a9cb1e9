/**
 * The reviewer console: login, the queue with live SLA countdowns, the
 * case view with the evidence, and the case actions, with keyboard
 * shortcuts. No framework; every control has a stable data-testid.
 *
 * Personal data (names, dates of birth, document numbers, images) is only
 * put in the DOM, never in storage, the URL or console output. Images are
 * <img> elements on the API's image endpoint, which answers no-store.
 */
import "./style.css";
import * as api from "./api.js";
import { h, fmtNum, fmtTime, formatSLA } from "./dom.js";
import { REASON_CODES } from "./reasons.gen.js";

const PRIORITIES = ["sanctions", "duplicate_identity", "liveness", "document", "other"];
const STATES = ["open", "assigned", "pending_confirmation", "escalated", "decided"];

/** Shortcut keys, shown in the UI. */
const SHORTCUTS: [string, string][] = [
  ["c", "claim"],
  ["a", "approve"],
  ["r", "reject"],
  ["e", "escalate"],
  ["n", "next case"],
  ["Esc", "back to the queue"],
];

interface State {
  reviewer?: api.Reviewer;
  cases: api.CaseSummary[];
  filter: { state: string; priority: string };
  current?: api.CaseDetail;
  /** Client-side SLA deadlines (ms) by case id: now + remaining_seconds at load. */
  deadlines: Map<string, number>;
}

const st: State = { cases: [], filter: { state: "", priority: "" }, deadlines: new Map() };
const root = document.getElementById("app")!;

// ------------------------------------------------------------- helpers ---

function flash(text: string, kind: "message" | "error" = "message"): void {
  const el = document.querySelector<HTMLElement>('[data-testid="flash"]');
  if (!el) return;
  el.className = kind;
  el.dataset.kind = kind;
  el.textContent = text;
}

/** run calls f, showing its error; a lost login goes back to the login form. */
async function run<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof api.ApiError && e.status === 401) {
      st.reviewer = undefined;
      renderLogin("Your login expired: please log in again.");
      return undefined;
    }
    const msg = e instanceof api.ApiError ? `${e.message} (${e.code})` : "unexpected error";
    flash(msg, "error");
    return undefined;
  }
}

function setDeadline(c: api.CaseSummary): void {
  st.deadlines.set(c.id, Date.now() + c.remaining_seconds * 1000);
}

function slaCell(c: api.CaseSummary, testid: string): HTMLElement {
  const span = h("span", { testid, "data-case-id": c.id, class: "sla", "data-done": c.state === "decided" ? "true" : undefined });
  span.dataset.sla = c.id;
  paintSLA(span);
  return span;
}

function paintSLA(el: HTMLElement): void {
  const d = st.deadlines.get(el.dataset.sla ?? "");
  if (d === undefined) return;
  if (el.dataset.done === "true") {
    el.textContent = "done";
    return;
  }
  const secs = Math.round((d - Date.now()) / 1000);
  el.textContent = formatSLA(secs);
  el.classList.toggle("overdue", secs < 0);
  el.dataset.remaining = String(secs);
}

setInterval(() => document.querySelectorAll<HTMLElement>("[data-sla]").forEach(paintSLA), 1000);

// --------------------------------------------------------------- login ---

function renderLogin(note = ""): void {
  st.current = undefined;
  const tenant = h("input", { testid: "login-tenant", name: "tenant", autocomplete: "organization", required: true, placeholder: "tenant" });
  const user = h("input", { testid: "login-username", name: "username", autocomplete: "username", required: true, placeholder: "username" });
  const pass = h("input", { testid: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true, placeholder: "password" });
  const err = h("p", { testid: "login-error", class: "error", role: "alert" }, note);
  const btn = h("button", { testid: "login-submit", type: "submit", class: "primary" }, "Log in");
  const form = h("form", { testid: "login-form", class: "login" }, h("h1", {}, "Review console"), tenant, user, pass, btn, err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    btn.disabled = true;
    err.textContent = "";
    try {
      const l = await api.login(tenant.value.trim(), user.value.trim(), pass.value);
      pass.value = "";
      st.reviewer = l.reviewer;
      renderShell();
      await loadQueue();
    } catch (e) {
      err.textContent = e instanceof api.ApiError && e.status === 401 ? "Wrong tenant, username or password." :
        e instanceof api.ApiError ? e.message : "Login failed.";
    } finally {
      btn.disabled = false;
    }
  });
  root.replaceChildren(form);
  tenant.focus();
}

// --------------------------------------------------------------- shell ---

function renderShell(): void {
  const r = st.reviewer!;
  const logout = h("button", { testid: "logout", type: "button" }, "Log out");
  logout.addEventListener("click", async () => {
    await api.logout().catch(() => undefined);
    st.reviewer = undefined;
    renderLogin();
  });
  const shortcuts = h("span", { testid: "shortcuts", class: "shortcuts" },
    ...SHORTCUTS.flatMap(([k, what]) => [h("kbd", {}, k), ` ${what}  `]));
  root.replaceChildren(
    h("header", {},
      h("h1", {}, "Review console"),
      shortcuts,
      h("span", { testid: "whoami" }, `${r.username} (${r.role}) · ${r.tenant}`),
      logout),
    h("main", {}, h("p", { testid: "flash", role: "status" }), h("div", { testid: "view" })),
  );
}

function view(): HTMLElement {
  return document.querySelector<HTMLElement>('[data-testid="view"]')!;
}

// --------------------------------------------------------------- queue ---

async function loadQueue(): Promise<void> {
  const list = await run(() => api.listCases({ state: st.filter.state, priority: st.filter.priority, limit: 200 }));
  if (!list) return;
  st.cases = list.cases;
  st.cases.forEach(setDeadline);
  renderQueue();
}

function renderQueue(): void {
  st.current = undefined;
  const stateSel = h("select", { testid: "queue-state" }, h("option", { value: "" }, "all but decided"),
    ...STATES.map((s) => h("option", { value: s, selected: st.filter.state === s }, s)));
  const prioSel = h("select", { testid: "queue-priority" }, h("option", { value: "" }, "all priorities"),
    ...PRIORITIES.map((p) => h("option", { value: p, selected: st.filter.priority === p }, p)));
  const refresh = h("button", { testid: "queue-refresh", type: "button" }, "Refresh");
  stateSel.addEventListener("change", () => { st.filter.state = stateSel.value; void loadQueue(); });
  prioSel.addEventListener("change", () => { st.filter.priority = prioSel.value; void loadQueue(); });
  refresh.addEventListener("click", () => void loadQueue());

  const rows = st.cases.map((c) => {
    const tr = h("tr", { testid: "case-row", class: "row", "data-case-id": c.id, "data-session-id": c.session_id, "data-state": c.state, tabindex: 0 },
      h("td", {}, h("span", { class: `prio prio-${c.priority}`, testid: "case-priority" }, c.priority)),
      h("td", { testid: "case-state" }, c.state + (c.escalated ? " (escalated)" : "")),
      h("td", {}, slaCell(c, "case-sla")),
      h("td", { testid: "case-reasons" }, c.reasons.join(", ")),
      h("td", {}, fmtTime(c.opened_at)),
      h("td", { testid: "case-assignee" }, c.held_by_me ? "me" : c.assignee ?? "—"),
      h("td", {}, c.claimable ? "claimable" : ""));
    tr.addEventListener("click", () => void openCase(c.id));
    tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter") void openCase(c.id); });
    return tr;
  });
  const table = h("table", { testid: "queue-table" },
    h("thead", {}, h("tr", {}, ...["priority", "state", "SLA", "reasons", "opened", "assignee", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, ...rows));
  view().replaceChildren(
    h("div", { class: "bar" }, stateSel, prioSel, refresh, h("span", { testid: "queue-count" }, `${st.cases.length} case(s)`)),
    st.cases.length ? table : h("p", { testid: "queue-empty" }, "No cases in this queue."),
  );
}

// ---------------------------------------------------------------- case ---

async function openCase(id: string): Promise<void> {
  const c = await run(() => api.getCase(id));
  if (!c) return;
  st.current = c;
  setDeadline(c);
  flash("");
  renderCase();
}

/** apply shows a case returned by an action, keeping the evidence already shown. */
function apply(c: api.CaseDetail, note: string): void {
  const prev = st.current;
  st.current = { ...c, evidence: c.evidence ?? prev?.evidence, history: c.history ?? prev?.history };
  setDeadline(c);
  const i = st.cases.findIndex((x) => x.id === c.id);
  if (i >= 0) st.cases[i] = c;
  renderCase();
  flash(note);
}

function me(): string {
  return st.reviewer?.id ?? "";
}

function canDecide(c: api.CaseSummary): boolean {
  return c.held_by_me && c.claim_live && c.state === "assigned";
}

function renderCase(): void {
  const c = st.current!;
  const ev = c.evidence;
  const claimBtn = h("button", { testid: "case-claim", type: "button", class: "primary", disabled: !c.claimable }, "Claim (c)");
  const releaseBtn = h("button", { testid: "case-release", type: "button", disabled: !c.held_by_me || c.state !== "assigned" }, "Release");
  const backBtn = h("button", { testid: "case-back", type: "button" }, "Back to queue (Esc)");
  const nextBtn = h("button", { testid: "case-next", type: "button" }, "Next case (n)");
  const publishBtn = c.state === "decided" && !c.published ? h("button", { testid: "case-publish", type: "button" }, "Publish decision") : null;
  claimBtn.addEventListener("click", () => void doClaim());
  releaseBtn.addEventListener("click", () => void act(() => api.release(c.id), "Released."));
  backBtn.addEventListener("click", () => void backToQueue());
  nextBtn.addEventListener("click", () => void nextCase());
  publishBtn?.addEventListener("click", () => void act(() => api.publish(c.id), "Published."));

  const head = h("div", { class: "card", testid: "case-detail", "data-case-id": c.id, "data-state": c.state },
    h("h2", {}, `Case ${c.id}`),
    h("dl", { class: "kv" },
      h("dt", {}, "priority"), h("dd", { testid: "case-priority" }, c.priority),
      h("dt", {}, "state"), h("dd", { testid: "case-state" }, c.state + (c.escalated ? " (escalated)" : "")),
      h("dt", {}, "SLA"), h("dd", {}, slaCell(c, "case-sla")),
      h("dt", {}, "reasons"), h("dd", { testid: "case-reasons" }, c.reasons.join(", ")),
      h("dt", {}, "session"), h("dd", { testid: "case-session" }, c.session_id),
      h("dt", {}, "assignee"), h("dd", { testid: "case-assignee" }, c.held_by_me ? "me" : c.assignee ?? "—"),
      h("dt", {}, "claim until"), h("dd", { testid: "case-claim-expires" }, c.claim_live ? fmtTime(c.claim_expires_at) : "—"),
      c.proposal ? h("dt", {}, "proposal") : null,
      c.proposal ? h("dd", { testid: "case-proposal" }, `${c.proposal.outcome} by ${c.proposal.by}: ${c.proposal.reason_codes.join(", ")}`) : null,
      c.decision ? h("dt", {}, "decision") : null,
      c.decision ? h("dd", { testid: "case-decision" }, `${c.decision.outcome} (${c.decision.reason_codes.join(", ")})` +
        (c.published ? "" : " — not published yet")) : null),
    h("div", { class: "actions" }, claimBtn, releaseBtn, nextBtn, backBtn, publishBtn));

  const side = h("div", {}, head, decideCard(c), escalateCard(c), confirmCard(c), historyCard(c));
  const main = h("div", {}, ...(ev ? evidenceCards(c, ev) : [h("p", {}, "No evidence.")]));
  view().replaceChildren(h("div", { class: "grid" }, main, side));
}

function decideCard(c: api.CaseDetail): HTMLElement | null {
  if (c.state === "decided" || c.state === "pending_confirmation") return null;
  const enabled = canDecide(c);
  const outcome = h("select", { testid: "decide-outcome", name: "outcome", disabled: !enabled },
    h("option", { value: "" }, "— outcome —"), h("option", { value: "APPROVE" }, "APPROVE"), h("option", { value: "REJECT" }, "REJECT"));
  const filter = h("input", { testid: "decide-reasons-filter", placeholder: "filter reason codes", disabled: !enabled });
  const byCat = new Map<string, typeof REASON_CODES[number][]>();
  for (const r of REASON_CODES) {
    if (r.category === "input") continue; // dead-letter codes: not a reviewer's reason
    byCat.set(r.category, [...(byCat.get(r.category) ?? []), r]);
  }
  const reasons = h("select", { testid: "decide-reasons", name: "reason_codes", multiple: true, disabled: !enabled, size: 10 },
    ...[...byCat].map(([cat, rs]) => h("optgroup", { label: cat },
      ...rs.map((r) => h("option", { value: r.code, title: r.description }, r.code)))));
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toUpperCase();
    reasons.querySelectorAll("option").forEach((o) => { o.hidden = q !== "" && !o.value.includes(q) && !o.title.toUpperCase().includes(q); });
  });
  const comment = h("textarea", { testid: "decide-comment", name: "comment", rows: 3, maxlength: 4096, placeholder: "comment (required)", disabled: !enabled });
  const submit = h("button", { testid: "decide-submit", type: "submit", class: "primary", disabled: !enabled }, "Decide");
  const err = h("p", { testid: "decide-error", class: "error" });
  const form = h("form", { testid: "decide-form", class: "decide" }, outcome, filter, reasons, comment, submit, err);
  const paint = () => {
    submit.className = outcome.value === "REJECT" ? "danger" : "primary";
    submit.textContent = outcome.value ? `Decide: ${outcome.value}` : "Decide";
  };
  outcome.addEventListener("change", paint);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const codes = [...reasons.selectedOptions].map((o) => o.value);
    if (outcome.value !== "APPROVE" && outcome.value !== "REJECT") { err.textContent = "Choose an outcome."; return; }
    if (codes.length === 0) { err.textContent = "Choose at least one reason code."; return; }
    if (!comment.value.trim()) { err.textContent = "A comment is required."; return; }
    void act(() => api.decide(c.id, outcome.value as api.Outcome, codes, comment.value.trim()),
      `Decided ${outcome.value}.`);
  });
  comment.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) form.requestSubmit(); });
  return h("div", { class: "card" }, h("h2", {}, "Decide"),
    enabled ? null : h("p", { class: "shortcuts" }, "Claim the case to decide it."), form);
}

function escalateCard(c: api.CaseDetail): HTMLElement | null {
  if (!canDecide(c)) return null;
  const comment = h("textarea", { testid: "escalate-comment", rows: 2, maxlength: 4096, placeholder: "why escalate (required)" });
  const btn = h("button", { testid: "escalate-submit", type: "button" }, "Escalate (e)");
  btn.addEventListener("click", () => {
    if (!comment.value.trim()) { comment.focus(); flash("A comment is required to escalate.", "error"); return; }
    void act(() => api.escalate(c.id, comment.value.trim()), "Escalated.");
  });
  return h("div", { class: "card" }, h("h2", {}, "Escalate"), comment, h("div", { class: "actions" }, btn));
}

function confirmCard(c: api.CaseDetail): HTMLElement | null {
  if (c.state !== "pending_confirmation") return null;
  const mine = c.proposal?.by === me();
  const comment = h("textarea", { testid: "confirm-comment", rows: 2, maxlength: 4096, placeholder: "comment", disabled: mine });
  const ok = h("button", { testid: "confirm-submit", type: "button", class: "primary", disabled: mine }, "Confirm proposal");
  const no = h("button", { testid: "reject-confirmation-submit", type: "button", class: "danger", disabled: mine }, "Overturn");
  ok.addEventListener("click", () => void act(() => api.confirm(c.id, comment.value.trim()), "Confirmed."));
  no.addEventListener("click", () => {
    if (!comment.value.trim()) { flash("A comment is required to overturn.", "error"); return; }
    void act(() => api.rejectConfirmation(c.id, comment.value.trim()), "Proposal overturned: escalated.");
  });
  return h("div", { class: "card", testid: "confirm-card" }, h("h2", {}, "Four-eyes confirmation"),
    mine ? h("p", {}, "You proposed this decision: another senior reviewer must confirm it.") : null,
    comment, h("div", { class: "actions" }, ok, no));
}

function historyCard(c: api.CaseDetail): HTMLElement | null {
  if (!c.history?.length) return null;
  return h("div", { class: "card" }, h("h2", {}, "History"),
    h("ol", { testid: "case-history", class: "history" }, ...c.history.map((e) => h("li", {},
      `${fmtTime(e.at)} · ${e.actor} · ${e.action}${e.from ? ` ${e.from}→${e.to}` : ` → ${e.to}`}` +
      (e.outcome ? ` · ${e.outcome}` : "") + (e.reason_codes?.length ? ` (${e.reason_codes.join(", ")})` : "") +
      (e.comment ? ` — ${e.comment}` : "")))));
}

function evidenceCards(c: api.CaseDetail, ev: api.Evidence): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (!ev.available) {
    out.push(h("div", { class: "card", testid: "evidence-unavailable" }, "The session's data is no longer available (erased or not stored)."));
  }
  out.push(h("div", { class: "card" }, h("h2", {}, "Images"),
    h("div", { class: "images", testid: "evidence-images" }, ...ev.images.map((name) => figure(api.imageURL(c.id, name), name, `evidence-image-${name}`)))));

  const a = ev.applicant;
  const d = ev.document;
  const m = d?.mrz;
  out.push(h("div", { class: "card", testid: "evidence-applicant" }, h("h2", {}, "Applicant and document"),
    h("dl", { class: "kv" },
      h("dt", {}, "given names"), h("dd", { testid: "applicant-given-names" }, a?.given_names ?? "—"),
      h("dt", {}, "surname"), h("dd", { testid: "applicant-surname" }, a?.surname ?? "—"),
      h("dt", {}, "date of birth"), h("dd", { testid: "applicant-dob" }, a?.date_of_birth ?? "—"),
      h("dt", {}, "nationality"), h("dd", {}, a?.nationality ?? "—"),
      h("dt", {}, "document"), h("dd", { testid: "document-type" }, [d?.type, d?.issuing_country].filter(Boolean).join(" · ") || "—"),
      h("dt", {}, "document number"), h("dd", { testid: "document-number" }, m?.document_number ?? "—"),
      h("dt", {}, d?.mrz_source === "image" ? "MRZ (read from the image)" : "MRZ"), h("dd", { class: "mrz", testid: "document-mrz" }, (d?.mrz_lines ?? []).join("\n") || "—"),
      m ? h("dt", {}, "MRZ checks") : null,
      m ? h("dd", { testid: "document-mrz-checks" },
        h("span", { class: m.valid ? "pass" : "fail" }, m.valid ? "valid" : "invalid"),
        ...(m.checks ?? []).map((k) => h("span", { class: k.ok ? "pass" : "fail" }, ` ${k.field}:${k.ok ? "ok" : "✗"}`)),
        ...(m.problems ?? []).map((p) => h("span", { class: "fail" }, ` ${p.code}`))) : null,
      m?.readable ? h("dt", {}, "MRZ fields") : null,
      m?.readable ? h("dd", { testid: "document-mrz-fields" }, [`${m.surname ?? ""}, ${m.given_names ?? ""}`, m.birth_date && `born ${m.birth_date}`,
        m.expiry_date && `expires ${m.expiry_date}`, m.sex, m.nationality].filter(Boolean).join(" · ")) : null)));

  const f = ev.face;
  out.push(h("div", { class: "card", testid: "evidence-checks" }, h("h2", {}, "Checks"),
    f ? h("p", { testid: "evidence-face" },
      "face match ", h("b", { class: f.match_ok === false ? "fail" : "pass" }, fmtNum(f.match_similarity)),
      " · liveness ", h("b", { class: f.liveness_ok === false ? "fail" : "pass" }, fmtNum(f.liveness_score))) : null,
    h("table", {}, h("thead", {}, h("tr", {}, ...["check", "status", "score", "reason codes", "signals"].map((t) => h("th", {}, t)))),
      h("tbody", {}, ...ev.checks.map((k) => h("tr", { testid: `check-${k.kind}` },
        h("td", {}, k.kind), h("td", {}, k.status + (k.error ? ` (${k.error})` : "")), h("td", {}, fmtNum(k.score)),
        h("td", {}, k.reason_codes.join(", ")),
        h("td", {}, ...k.signals.map((s) => h("div", {}, `${s.name}: ${s.number ?? s.flag ?? s.text ?? ""}${s.unit ? " " + s.unit : ""}`)))))))));

  out.push(h("div", { class: "card", testid: "evidence-screening" }, h("h2", {}, `Screening hits (${ev.screening_hits.length})`),
    ev.screening_hits.length === 0 ? h("p", {}, "None.") :
      h("table", {}, h("thead", {}, h("tr", {}, ...["list entry", "matched name", "score", "programmes", "source"].map((t) => h("th", {}, t)))),
        h("tbody", {}, ...ev.screening_hits.map((x) => h("tr", { testid: "screening-hit", "data-entity-id": x.entity_id },
          h("td", {}, `${x.name} (${x.entity_type ?? "entity"} ${x.entity_id})` + (x.pep ? " · PEP" : "")),
          h("td", {}, x.matched_name), h("td", {}, fmtNum(x.score)), h("td", {}, x.programs.join(", ")),
          h("td", {}, `${x.source}${x.list_version ? " " + x.list_version : ""}`)))))));

  if (ev.dedup.length) {
    out.push(h("div", { class: "card", testid: "evidence-dedup" }, h("h2", {}, "Duplicate identity"),
      ...ev.dedup.map((x) => h("div", { testid: "dedup-match", "data-session-id": x.session_id ?? "" },
        h("p", {}, x.other_tenant ? "A matching face in another tenant (not shown)." :
          `Session ${x.session_id} · similarity ${fmtNum(x.similarity)} · ${x.status ?? ""} ${x.outcome ?? ""}`),
        x.session_id ? h("div", { class: "images" }, ...x.images.map((n) =>
          figure(api.relatedImageURL(c.id, x.session_id!, n), `${n} (other session)`, `dedup-image-${n}`))) : null))));
  }
  const dec = ev.decision;
  if (dec) {
    out.push(h("div", { class: "card", testid: "evidence-decision" }, h("h2", {}, "Automated decision"),
      h("p", {}, `${dec.outcome} · score ${fmtNum(dec.score)} · ${dec.reason_codes.join(", ")} · policy ${dec.policy_id ?? "—"} v${dec.policy_version ?? "?"}`),
      ev.final_decision ? h("p", { testid: "evidence-final-decision" }, `Final: ${ev.final_decision.outcome} (${ev.final_decision.reason_codes.join(", ")})`) : null));
  }
  return out;
}

function figure(src: string, caption: string, testid: string): HTMLElement {
  const img = h("img", { src, alt: caption, testid, loading: "eager", referrerpolicy: "no-referrer" });
  img.addEventListener("error", () => img.replaceWith(h("span", { class: "error", testid: `${testid}-error` }, "image unavailable")));
  return h("figure", {}, img, h("figcaption", {}, caption));
}

// ------------------------------------------------------------- actions ---

async function act(f: () => Promise<api.CaseDetail>, note: string): Promise<void> {
  const c = await run(f);
  if (c) apply(c, note);
}

async function doClaim(): Promise<void> {
  const c = st.current;
  if (!c) return;
  await act(() => api.claim(c.id), "Claimed.");
}

async function backToQueue(): Promise<void> {
  await loadQueue();
}

/** nextCase opens the claimable case after the current one in the queue order (wrapping). */
async function nextCase(): Promise<void> {
  const list = await run(() => api.listCases({ state: st.filter.state, priority: st.filter.priority, limit: 200 }));
  if (!list) return;
  st.cases = list.cases;
  st.cases.forEach(setDeadline);
  const cur = st.current?.id;
  const idx = cur ? st.cases.findIndex((c) => c.id === cur) : -1;
  const order = [...st.cases.slice(idx + 1), ...st.cases.slice(0, Math.max(0, idx))];
  const next = order.find((c) => c.claimable || c.held_by_me);
  if (!next) {
    renderQueue();
    flash("No other case to take.");
    return;
  }
  await openCase(next.id);
}

function pickOutcome(o: api.Outcome): void {
  const sel = document.querySelector<HTMLSelectElement>('[data-testid="decide-outcome"]');
  if (!sel || sel.disabled) {
    flash("Claim the case first (c).", "error");
    return;
  }
  sel.value = o;
  sel.dispatchEvent(new Event("change"));
  document.querySelector<HTMLSelectElement>('[data-testid="decide-reasons"]')?.focus();
}

document.addEventListener("keydown", (ev) => {
  if (!st.reviewer || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target as HTMLElement | null;
  const typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  if (ev.key === "Escape") {
    if (typing) (t as HTMLElement).blur();
    else if (st.current) void backToQueue();
    return;
  }
  if (typing) return;
  switch (ev.key) {
    case "c":
      if (st.current) { ev.preventDefault(); void doClaim(); }
      break;
    case "a":
      if (st.current) { ev.preventDefault(); pickOutcome("APPROVE"); }
      break;
    case "r":
      if (st.current) { ev.preventDefault(); pickOutcome("REJECT"); }
      break;
    case "e": {
      const box = document.querySelector<HTMLTextAreaElement>('[data-testid="escalate-comment"]');
      if (st.current) {
        ev.preventDefault();
        if (box) box.focus();
        else flash("Claim the case first (c).", "error");
      }
      break;
    }
    case "n":
      ev.preventDefault();
      void nextCase();
      break;
  }
});

// ---------------------------------------------------------------- start ---

async function start(): Promise<void> {
  if (!api.csrfToken()) {
    // Without the CSRF token no POST can succeed: log in (again).
    renderLogin();
    return;
  }
  try {
    const m = await api.me();
    st.reviewer = m.reviewer;
    renderShell();
    await loadQueue();
  } catch {
    renderLogin();
  }
}

void start();
