/**
 * The HTTP client of the gateway's session routes that accept a session
 * token (docs/api.md): read the status, upload the images, probe selfie
 * frames, submit. Shapes follow gateway/openapi.json.
 */
import type { FaceBox } from "./quality.js";

/** Image metadata as the gateway returns it. */
export interface ImageInfo {
  name: string;
  content_type: string;
  sha256: string;
  size: number;
  width: number;
  height: number;
  uploaded_at: string;
}

export interface Decision {
  id: string;
  outcome: "APPROVE" | "REJECT" | "REVIEW" | string;
  score: number;
  reason_codes: string[];
  policy_id?: string;
  policy_version?: number;
  decided_at?: string;
}

export interface CheckResult {
  kind: string;
  status: string;
  score: number;
  reason_codes: string[];
}

/** GET /v1/sessions/{id}. */
export interface SessionStatus {
  id: string;
  /** created, submitted, processing, awaiting_input, approved, rejected, review, decided, failed, erased (docs/api.md). */
  status: string;
  created_at?: string;
  submitted_at?: string;
  erased_at?: string;
  requested_checks: string[];
  policy_id?: string;
  images: ImageInfo[];
  reason_codes: string[];
  decision?: Decision;
  checks: CheckResult[];
}

/** POST /v1/sessions/{id}/submit. */
export interface Submitted {
  id: string;
  status: string;
  event_id: string;
  submitted_at: string;
}

/** An error answer of the gateway, or a network failure (status 0). */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    /** HTTP status; 0 when no response arrived. */
    readonly status: number,
    /** The gateway's stable error code (docs/api.md), or "network" / "bad_response". */
    readonly code: string,
    message: string,
    /** Seconds from Retry-After on 429/503, when given. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  /** The node's origin, e.g. "https://kyc.example.com" ("" for same origin). */
  baseUrl: string;
  sessionId: string;
  /** The session token from POST /v1/sessions/{id}/token (never an API key). */
  token: string;
  /** fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Terminal statuses: polling stops there. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(["decided", "review", "failed", "erased", "approved", "rejected"]);

/** isFinal reports whether a status is terminal for the applicant's flow. */
export function isFinal(s: SessionStatus): boolean {
  return s.decision !== undefined || FINAL_STATUSES.has(s.status);
}

/** Client calls the gateway with a session token. */
export class Client {
  readonly #base: string;
  readonly #id: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;

  constructor(o: ClientOptions) {
    if (!ID_PATTERN.test(o.sessionId)) throw new TypeError("sessionId: malformed");
    if (!o.token || !o.token.startsWith("est_")) throw new TypeError("token: a session token (est_...) is required");
    this.#base = o.baseUrl.replace(/\/+$/, "");
    this.#id = o.sessionId;
    this.#token = o.token;
    const f = o.fetch ?? globalThis.fetch;
    if (typeof f !== "function") throw new TypeError("fetch is not available");
    this.#fetch = f.bind(globalThis);
  }

  get sessionId(): string {
    return this.#id;
  }

  #url(suffix = ""): string {
    return `${this.#base}/v1/sessions/${encodeURIComponent(this.#id)}${suffix}`;
  }

  async #call<T>(method: string, url: string, body?: BodyInit, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<T> {
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        body,
        headers: { Authorization: `Bearer ${this.#token}`, Accept: "application/json", ...headers },
        credentials: "omit",
        cache: "no-store",
        signal,
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new ApiError(0, "network", "the node could not be reached");
    }
    let data: unknown = undefined;
    const text = await res.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        throw new ApiError(res.status, "bad_response", `unexpected response (HTTP ${res.status})`);
      }
    }
    if (!res.ok) {
      const err = (data as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const ra = Number(res.headers.get("Retry-After"));
      throw new ApiError(
        res.status,
        typeof err?.code === "string" ? err.code : `http_${res.status}`,
        typeof err?.message === "string" ? err.message : `HTTP ${res.status}`,
        Number.isFinite(ra) && ra > 0 ? ra : undefined,
      );
    }
    return data as T;
  }

  /** status reads the session's status (GET /v1/sessions/{id}). */
  status(signal?: AbortSignal): Promise<SessionStatus> {
    return this.#call<SessionStatus>("GET", this.#url(), undefined, {}, signal);
  }

  /** uploadDocument stores the document image (JPEG or PNG); side front or back. */
  async uploadDocument(image: Blob, side: "front" | "back" = "front", signal?: AbortSignal): Promise<ImageInfo> {
    const r = await this.#call<{ id: string; image: ImageInfo }>(
      "PUT", this.#url(`/document?side=${side}`), image, { "Content-Type": imageType(image) }, signal);
    return r.image;
  }

  /** uploadSelfie stores the selfie (JPEG or PNG). */
  async uploadSelfie(image: Blob, signal?: AbortSignal): Promise<ImageInfo> {
    const r = await this.#call<{ id: string; image: ImageInfo }>(
      "PUT", this.#url("/selfie"), image, { "Content-Type": imageType(image) }, signal);
    return r.image;
  }

  /**
   * probeSelfie asks the node's face detector where the faces are in one
   * camera frame (POST .../selfie/probe; JPEG or PNG, 64–1280 px a side).
   * Nothing is stored. A node without face models answers 503
   * not_available.
   */
  async probeSelfie(frame: Blob, signal?: AbortSignal): Promise<FaceBox[]> {
    const r = await this.#call<{ faces: FaceBox[] }>("POST", this.#url("/selfie/probe"), frame, { "Content-Type": imageType(frame) }, signal);
    return Array.isArray(r?.faces) ? r.faces : [];
  }

  /**
   * submit queues the session (POST .../submit) with an Idempotency-Key,
   * so a retry after a lost response is answered, not executed twice.
   */
  submit(idempotencyKey: string = `sdk-submit-${this.#id}`, signal?: AbortSignal): Promise<Submitted> {
    return this.#call<Submitted>("POST", this.#url("/submit"), undefined, { "Idempotency-Key": idempotencyKey }, signal);
  }
}

/** The gateway detects JPEG/PNG from the bytes; the header only has to be an image type. */
function imageType(b: Blob): string {
  return b.type === "image/png" || b.type === "image/jpeg" ? b.type : "image/jpeg";
}

export interface PollOptions {
  /** Delay between polls, ms (default 1500). */
  intervalMs?: number;
  /** Give up after this long, ms (default 5 minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with every status read. */
  onStatus?: (s: SessionStatus) => void;
  /** Sleep function (tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** sleep resolves after ms, or rejects when signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * pollUntilFinal reads the status until it is final (see isFinal). Network
 * errors and 429/503 are retried (honouring Retry-After); other errors end
 * the poll. Throws ApiError "timeout" after timeoutMs of polls.
 */
export async function pollUntilFinal(client: Client, o: PollOptions = {}): Promise<SessionStatus> {
  const interval = o.intervalMs ?? 1500;
  const maxPolls = Math.max(1, Math.ceil((o.timeoutMs ?? 300_000) / interval));
  const nap = o.sleep ?? sleep;
  for (let i = 0; i < maxPolls; i++) {
    let wait = interval;
    try {
      const s = await client.status(o.signal);
      o.onStatus?.(s);
      if (isFinal(s)) return s;
    } catch (e) {
      if (!(e instanceof ApiError) || !(e.status === 0 || e.status === 429 || e.status === 503)) throw e;
      if (e.retryAfter) wait = Math.max(wait, e.retryAfter * 1000);
    }
    await nap(wait, o.signal);
  }
  throw new ApiError(0, "timeout", "no decision before the timeout");
}
