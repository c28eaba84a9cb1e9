/**
 * Recorded response bodies of the gateway (gateway/openapi.json shapes), as
 * the gateway's tests produce them, and a fetch mock that serves them.
 */

export const SESSION_ID = "7f0c2a8e-3c1d-4b6a-9e2f-5d4c3b2a1f00";
export const TOKEN = "est_eyJ2IjoxLCJ0IjoiZGVtbyIsInMiOiI3ZjBjMmE4ZS0zYzFkLTRiNmEtOWUyZi01ZDRjM2IyYTFmMDAiLCJlIjoxNzcyNjIwMjAwfQ.Vq8kq1m0J0cQ2S0xv3Vt3l8Qh6m4bS9gR7m1x2y3z4A";

export const statusCreated = {
  id: SESSION_ID,
  status: "created",
  created_at: "2026-03-04T10:00:00Z",
  requested_checks: ["document", "face"],
  policy_id: "default",
  images: [],
  reason_codes: [],
  checks: [],
};

export const documentUploaded = {
  id: SESSION_ID,
  image: {
    name: "document_front",
    content_type: "image/jpeg",
    sha256: "9b2c6a0d1f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817065f4e",
    size: 48213,
    width: 1280,
    height: 720,
    uploaded_at: "2026-03-04T10:00:05Z",
  },
};

export const selfieUploaded = {
  id: SESSION_ID,
  image: { ...documentUploaded.image, name: "selfie", uploaded_at: "2026-03-04T10:00:09Z" },
};

export const submitted = {
  id: SESSION_ID,
  status: "submitted",
  event_id: "5b8f0f3e-9a4d-5c2b-8e1f-0a9b8c7d6e5f",
  submitted_at: "2026-03-04T10:00:10Z",
};

export const statusProcessing = { ...statusCreated, status: "processing", submitted_at: submitted.submitted_at,
  images: [documentUploaded.image, selfieUploaded.image] };

export const statusReview = {
  ...statusProcessing,
  status: "review",
  reason_codes: ["SCREENING_SANCTIONS_HIT"],
  decision: { id: "dec-1", outcome: "REVIEW", score: 0.52, reason_codes: ["SCREENING_SANCTIONS_HIT"], policy_id: "default",
    policy_version: 3, decided_at: "2026-03-04T10:00:12Z" },
  checks: [{ kind: "screening", status: "CHECK_STATUS_COMPLETED", score: 0.91, reason_codes: ["SCREENING_SANCTIONS_HIT"] }],
};

export const errUnauthenticated = { error: { code: "unauthenticated", message: "a valid API key or session token is required (Authorization: Bearer <key>)" } };
export const errRateLimited = { error: { code: "rate_limited", message: "rate limit exceeded" } };
export const errMissingImages = { error: { code: "missing_images", message: "the requested checks need these images: selfie" } };

export interface Recorded {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
  credentials?: RequestCredentials;
}

/** mockFetch answers the queued responses in order and records the calls. */
export function mockFetch(responses: Recorded[]): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const queue = [...responses];
  const f = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    calls.push({
      url: String(input),
      method: init.method ?? "GET",
      headers: Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>)),
      body: init.body,
      credentials: init.credentials,
    });
    const r = queue.shift();
    if (!r) throw new Error(`unexpected request ${init.method} ${String(input)}`);
    if (r.status === 0) throw new TypeError("Failed to fetch");
    return new Response(r.body === undefined ? null : JSON.stringify(r.body), {
      status: r.status,
      headers: { "Content-Type": "application/json", ...r.headers },
    });
  };
  return { fetch: f as typeof fetch, calls };
}
