/**
 * The /demo page: starts a session on this node (POST /demo/api/start),
 * then runs the web SDK's whole flow with the session token it got.
 *
 * ?quality=off enables the capture button whatever the live quality
 * feedback says (for a synthetic camera, e.g. a browser's fake device).
 */
import "./style.css";
import { ApiError, createSession, type SessionStatus } from "../../../sdk/web/src/index.js";

const $ = <T extends HTMLElement>(id: string) => document.querySelector<T>(`[data-testid="${id}"]`)!;

const params = new URLSearchParams(location.search);
const requireQuality = params.get("quality") !== "off";

function log(text: string): void {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  li.dataset.testid = "demo-event";
  $("demo-events").append(li);
}

function status(text: string): void {
  $("demo-status").textContent = text;
}

async function start(): Promise<{ session_id: string; token: string }> {
  const res = await fetch("/demo/api/start", { method: "POST", credentials: "same-origin", cache: "no-store" });
  const body = (await res.json().catch(() => ({}))) as { session_id?: string; token?: string; error?: { message?: string } };
  if (!res.ok || !body.session_id || !body.token) throw new Error(body.error?.message ?? `the demo could not start (HTTP ${res.status})`);
  return { session_id: body.session_id, token: body.token };
}

function showResult(s: SessionStatus): void {
  $("demo-result").hidden = false;
  $("demo-final-status").textContent = s.status;
  $("demo-outcome").textContent = s.decision?.outcome ?? "—";
  $("demo-reasons").textContent = (s.decision?.reason_codes ?? s.reason_codes).join(", ") || "—";
  const done: Record<string, string> = {
    approved: "Verified — thank you.",
    rejected: "We could not verify your identity.",
    review: "Thank you — a reviewer will look at your verification.",
    failed: "The verification could not be completed.",
  };
  status(done[s.status] ?? `Finished: ${s.status}`);
}

async function main(): Promise<void> {
  $("demo-error").textContent = "";
  $("demo-result").hidden = true;
  $("demo-restart").hidden = true;
  const root = document.body;
  root.dataset.phase = "starting";
  try {
    const { session_id, token } = await start();
    $("demo-session-id").textContent = session_id;
    root.dataset.sessionId = session_id;
    log(`session ${session_id} started`);
    const s = createSession({ baseUrl: "", sessionId: session_id, token });
    s.on("quality", ({ capture, quality }) => {
      $("demo-quality").textContent = `${capture}: ${quality.ok ? "ok" : quality.issues.join(", ")} · sharpness ${quality.sharpness.toFixed(0)}`;
    });
    s.on("captured", ({ capture, source, image }) => {
      root.dataset.phase = `${capture}-captured`;
      log(`${capture} captured from the ${source} (${image.size} bytes)`);
      status("Uploading…");
    });
    s.on("uploaded", ({ capture, image }) => {
      root.dataset.phase = `${capture}-uploaded`;
      log(`${capture} uploaded (${image.width}×${image.height})`);
      status(capture === "document" ? "Now the selfie." : "Submitting…");
    });
    s.on("submitted", (x) => {
      root.dataset.phase = "submitted";
      log(`submitted (event ${x.event_id})`);
      status("Checking… this takes a few seconds.");
    });
    s.on("status", (x) => log(`status: ${x.status}`));
    s.on("decided", (x) => {
      root.dataset.phase = "decided";
      root.dataset.finalStatus = x.status;
      log(`decided: ${x.status}${x.decision ? " " + x.decision.outcome : ""}`);
    });
    s.on("error", ({ stage, error }) => log(`error at ${stage}: ${error instanceof ApiError ? error.code : error.message}`));
    status("Photograph your document.");
    root.dataset.phase = "capturing";
    const final = await s.run($("demo-capture"), {
      document: { requireQuality },
      selfie: { requireQuality },
      poll: { intervalMs: 1000, timeoutMs: 180_000 },
    });
    showResult(final);
  } catch (e) {
    root.dataset.phase = "error";
    $("demo-error").textContent = e instanceof Error ? e.message : "unexpected error";
    status("Something went wrong.");
  } finally {
    $("demo-restart").hidden = false;
  }
}

$("demo-restart").addEventListener("click", () => void main());
void main();
