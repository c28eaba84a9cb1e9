import { test } from "node:test";
import assert from "node:assert/strict";
import { createSession } from "../src/session.js";
import type { EkycEventMap, EkycEventType } from "../src/events.js";
import * as fx from "./fixtures.js";

function session(responses: fx.Recorded[]) {
  const m = fx.mockFetch(responses);
  const s = createSession({ baseUrl: "", sessionId: fx.SESSION_ID, token: fx.TOKEN, fetch: m.fetch });
  const events: { type: EkycEventType; detail: unknown }[] = [];
  for (const t of ["quality", "captured", "uploaded", "submitted", "status", "decided", "error"] as const) {
    s.on(t, (d) => events.push({ type: t, detail: d }));
  }
  return { s, events, calls: m.calls };
}

test("upload, submit and wait emit their events in order", async () => {
  const { s, events } = session([
    { status: 200, body: fx.documentUploaded },
    { status: 200, body: fx.selfieUploaded },
    { status: 202, body: fx.submitted },
    { status: 200, body: fx.statusProcessing },
    { status: 200, body: fx.statusReview },
  ]);
  await s.uploadDocument(new Blob(["x"], { type: "image/jpeg" }));
  await s.uploadSelfie(new Blob(["y"], { type: "image/jpeg" }));
  await s.submit();
  const final = await s.waitForDecision({ intervalMs: 1, sleep: async () => {} });
  assert.equal(final.status, "review");
  assert.deepEqual(events.map((e) => e.type), ["uploaded", "uploaded", "submitted", "status", "status", "decided"]);
  assert.deepEqual(events[0]!.detail, { capture: "document", image: fx.documentUploaded.image });
  assert.deepEqual(events[1]!.detail, { capture: "selfie", image: fx.selfieUploaded.image });
  assert.deepEqual(events[2]!.detail, fx.submitted);
  assert.deepEqual(events[5]!.detail, fx.statusReview);
  assert.equal(s.lastStatus?.status, "review");
});

test("a failure emits error with its stage and rejects", async () => {
  const { s, events } = session([{ status: 422, body: fx.errMissingImages }]);
  await assert.rejects(s.submit(), /selfie/);
  assert.equal(events.length, 1);
  const e = events[0]!.detail as EkycEventMap["error"];
  assert.equal(events[0]!.type, "error");
  assert.equal(e.stage, "submit");
  assert.equal((e.error as { code?: string }).code, "missing_images");
});

test("listeners: off, once, DOM addEventListener, and a throwing listener does not stop the flow", async () => {
  const { s, events } = session([
    { status: 200, body: fx.statusCreated },
    { status: 200, body: fx.statusCreated },
    { status: 200, body: fx.statusCreated },
  ]);
  let onceCalls = 0;
  s.once("status", () => onceCalls++);
  const domDetails: unknown[] = [];
  s.addEventListener("status", (e) => domDetails.push((e as CustomEvent).detail));
  const origError = console.error;
  const reported: unknown[] = [];
  console.error = (x: unknown) => void reported.push(x);
  try {
    const off = s.on("status", () => {
      throw new Error("host bug");
    });
    await s.status();
    off();
    await s.status();
  } finally {
    console.error = origError;
  }
  await s.status();
  assert.equal(onceCalls, 1);
  assert.equal(domDetails.length, 3);
  assert.equal(reported.length, 1, "the throwing listener ran once and was reported");
  assert.equal(events.filter((e) => e.type === "status").length, 3);
});

test("run resumes: a submitted session is only awaited", async () => {
  const { s, calls, events } = session([
    { status: 200, body: fx.statusProcessing },
    { status: 200, body: fx.statusReview },
  ]);
  // No container is touched: nothing is left to capture.
  const final = await s.run(undefined as unknown as HTMLElement, { poll: { intervalMs: 1, sleep: async () => {} } });
  assert.equal(final.status, "review");
  assert.ok(calls.every((c) => c.method === "GET"));
  assert.deepEqual(events.map((e) => e.type), ["status", "status", "decided"]);
});
