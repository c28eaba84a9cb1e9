import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, Client, pollUntilFinal } from "../src/client.js";
import * as fx from "./fixtures.js";

function client(responses: fx.Recorded[]) {
  const m = fx.mockFetch(responses);
  return { c: new Client({ baseUrl: "https://kyc.example/", sessionId: fx.SESSION_ID, token: fx.TOKEN, fetch: m.fetch }), calls: m.calls };
}

test("the client refuses API keys and malformed ids", () => {
  const f = fx.mockFetch([]).fetch;
  assert.throws(() => new Client({ baseUrl: "", sessionId: fx.SESSION_ID, token: "sk_live_123", fetch: f }), TypeError);
  assert.throws(() => new Client({ baseUrl: "", sessionId: fx.SESSION_ID, token: "", fetch: f }), TypeError);
  assert.throws(() => new Client({ baseUrl: "", sessionId: "../v1/sessions", token: fx.TOKEN, fetch: f }), TypeError);
});

test("status, uploads and submit call the token routes with the token", async () => {
  const { c, calls } = client([
    { status: 200, body: fx.statusCreated },
    { status: 200, body: fx.documentUploaded },
    { status: 200, body: fx.selfieUploaded },
    { status: 202, body: fx.submitted },
  ]);
  const s = await c.status();
  assert.deepEqual(s, fx.statusCreated);
  const doc = new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: "image/jpeg" });
  const img = await c.uploadDocument(doc);
  assert.equal(img.name, "document_front");
  const selfie = new Blob([new Uint8Array([0x89, 0x50])], { type: "image/png" });
  assert.equal((await c.uploadSelfie(selfie)).name, "selfie");
  const sub = await c.submit();
  assert.equal(sub.status, "submitted");

  const base = `https://kyc.example/v1/sessions/${fx.SESSION_ID}`;
  assert.deepEqual(calls.map((x) => `${x.method} ${x.url}`), [
    `GET ${base}`,
    `PUT ${base}/document?side=front`,
    `PUT ${base}/selfie`,
    `POST ${base}/submit`,
  ]);
  for (const call of calls) {
    assert.equal(call.headers.Authorization, `Bearer ${fx.TOKEN}`);
    assert.equal(call.credentials, "omit", "no cookies travel with the token");
  }
  assert.equal(calls[1]!.headers["Content-Type"], "image/jpeg");
  assert.equal(calls[1]!.body, doc);
  assert.equal(calls[2]!.headers["Content-Type"], "image/png");
  assert.equal(calls[3]!.headers["Idempotency-Key"], `sdk-submit-${fx.SESSION_ID}`);
});

test("gateway errors become ApiError with the code", async () => {
  const { c } = client([
    { status: 401, body: fx.errUnauthenticated },
    { status: 422, body: fx.errMissingImages },
    { status: 502, body: undefined },
    { status: 0 },
  ]);
  await assert.rejects(c.status(), (e: unknown) => e instanceof ApiError && e.status === 401 && e.code === "unauthenticated");
  await assert.rejects(c.submit(), (e: unknown) => e instanceof ApiError && e.code === "missing_images" && /selfie/.test(e.message));
  await assert.rejects(c.status(), (e: unknown) => e instanceof ApiError && e.code === "http_502");
  await assert.rejects(c.status(), (e: unknown) => e instanceof ApiError && e.status === 0 && e.code === "network");
});

test("polling retries 429 and network errors, honours Retry-After, stops at a final status", async () => {
  const { c, calls } = client([
    { status: 200, body: fx.statusProcessing },
    { status: 429, body: fx.errRateLimited, headers: { "Retry-After": "4" } },
    { status: 0 },
    { status: 200, body: fx.statusReview },
  ]);
  const waits: number[] = [];
  const seen: string[] = [];
  const s = await pollUntilFinal(c, {
    intervalMs: 1000,
    sleep: async (ms) => void waits.push(ms),
    onStatus: (s) => seen.push(s.status),
  });
  assert.equal(s.status, "review");
  assert.equal(s.decision?.outcome, "REVIEW");
  assert.deepEqual(seen, ["processing", "review"]);
  assert.deepEqual(waits, [1000, 4000, 1000]);
  assert.equal(calls.length, 4);
});

test("polling gives up after the timeout and passes other errors through", async () => {
  const many = Array.from({ length: 3 }, () => ({ status: 200, body: fx.statusProcessing }));
  const { c } = client(many);
  await assert.rejects(pollUntilFinal(c, { intervalMs: 10, timeoutMs: 30, sleep: async () => {} }),
    (e: unknown) => e instanceof ApiError && e.code === "timeout");
  const { c: c2 } = client([{ status: 401, body: fx.errUnauthenticated }]);
  await assert.rejects(pollUntilFinal(c2, { sleep: async () => {} }), (e: unknown) => e instanceof ApiError && e.status === 401);
});

test("polling stops when aborted", async () => {
  const { c } = client([{ status: 200, body: fx.statusProcessing }]);
  const ac = new AbortController();
  const p = pollUntilFinal(c, { intervalMs: 60_000, signal: ac.signal });
  // Abort once the first status was read and the poll is asleep.
  ac.abort(new Error("left the page"));
  await assert.rejects(p, /left the page/);
});

test("probeSelfie posts the frame with the token and returns the faces", async () => {
  const faces = [{ x: 0.4, y: 0.3, w: 0.2, h: 0.25, score: 0.96 }];
  const { c, calls } = client([
    { status: 200, body: { faces } },
    { status: 200, body: { faces: [] } },
    { status: 503, body: { error: { code: "not_available", message: "face detection is not available on this node" } } },
  ]);
  const frame = new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: "image/jpeg" });
  assert.deepEqual(await c.probeSelfie(frame), faces);
  assert.deepEqual(await c.probeSelfie(frame), []);
  await assert.rejects(c.probeSelfie(frame), (e: unknown) => e instanceof ApiError && e.status === 503 && e.code === "not_available");
  assert.equal(calls[0]!.method, "POST");
  assert.equal(calls[0]!.url, `https://kyc.example/v1/sessions/${fx.SESSION_ID}/selfie/probe`);
  assert.equal(calls[0]!.headers.Authorization, `Bearer ${fx.TOKEN}`);
  assert.equal(calls[0]!.headers["Content-Type"], "image/jpeg");
  assert.equal(calls[0]!.body, frame);
});
