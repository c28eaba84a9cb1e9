import { Client, pollUntilFinal, type ClientOptions, type ImageInfo, type PollOptions, type SessionStatus, type Submitted } from "./client.js";
import { capture, type CaptureOptions, type Captured } from "./capture.js";
import { Emitter, type CaptureKind, type EkycEventMap } from "./events.js";

/** Options of createSession. */
export type SessionOptions = ClientOptions;

/**
 * EkycSession is one verification session in the browser, authenticated
 * with its session token. Each step emits its event; failures emit
 * `error` and reject.
 */
export class EkycSession extends Emitter {
  readonly client: Client;
  /** The last status read (undefined before the first). */
  lastStatus: SessionStatus | undefined;

  constructor(o: SessionOptions) {
    super();
    this.client = new Client(o);
  }

  get id(): string {
    return this.client.sessionId;
  }

  async #step<T>(stage: EkycEventMap["error"]["stage"], f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      this.emit("error", { stage, error: e instanceof Error ? e : new Error(String(e)) });
      throw e;
    }
  }

  /** status reads the session's status once and emits `status`. */
  status(signal?: AbortSignal): Promise<SessionStatus> {
    return this.#step("status", async () => {
      const s = await this.client.status(signal);
      this.lastStatus = s;
      this.emit("status", s);
      return s;
    });
  }

  #capture(kind: CaptureKind, container: HTMLElement, o: CaptureOptions): Promise<Captured> {
    return this.#step("capture", async () => {
      const c = await capture(container, kind, {
        ...o,
        onQuality: (q) => {
          this.emit("quality", { capture: kind, quality: q });
          o.onQuality?.(q);
        },
      });
      this.emit("captured", { capture: kind, image: c.image, source: c.source });
      return c;
    });
  }

  /** captureDocument guides the document photo in container; resolves with the image. */
  captureDocument(container: HTMLElement, o: CaptureOptions = {}): Promise<Captured> {
    return this.#capture("document", container, o);
  }

  /** captureSelfie guides the selfie in container; resolves with the image. */
  captureSelfie(container: HTMLElement, o: CaptureOptions = {}): Promise<Captured> {
    // The node's face detector backs the live feedback (faceProbe: a
    // host may pass its own, or undefined to keep the heuristics only).
    const probe = "faceProbe" in o ? o.faceProbe : (f: Blob) => this.client.probeSelfie(f);
    return this.#capture("selfie", container, { facingMode: "user", ...o, faceProbe: probe });
  }

  /** uploadDocument stores the document image and emits `uploaded`. */
  uploadDocument(image: Blob, side: "front" | "back" = "front", signal?: AbortSignal): Promise<ImageInfo> {
    return this.#step("upload", async () => {
      const info = await this.client.uploadDocument(image, side, signal);
      this.emit("uploaded", { capture: "document", image: info });
      return info;
    });
  }

  /** uploadSelfie stores the selfie and emits `uploaded`. */
  uploadSelfie(image: Blob, signal?: AbortSignal): Promise<ImageInfo> {
    return this.#step("upload", async () => {
      const info = await this.client.uploadSelfie(image, signal);
      this.emit("uploaded", { capture: "selfie", image: info });
      return info;
    });
  }

  /** submit queues the session for verification and emits `submitted`. */
  submit(signal?: AbortSignal): Promise<Submitted> {
    return this.#step("submit", async () => {
      const s = await this.client.submit(undefined, signal);
      this.emit("submitted", s);
      return s;
    });
  }

  /**
   * waitForDecision polls the status until it is final, emitting `status`
   * for each read and `decided` at the end.
   */
  waitForDecision(o: PollOptions = {}): Promise<SessionStatus> {
    return this.#step("status", async () => {
      const s = await pollUntilFinal(this.client, {
        ...o,
        onStatus: (s) => {
          this.lastStatus = s;
          this.emit("status", s);
          o.onStatus?.(s);
        },
      });
      this.emit("decided", s);
      return s;
    });
  }

  /**
   * run is the whole flow in one container: it resumes where the session
   * is (images already uploaded are not asked again; a submitted session
   * is only awaited), captures and uploads the document and the selfie
   * the session needs, submits and waits for the decision.
   */
  async run(container: HTMLElement, o: { document?: CaptureOptions; selfie?: CaptureOptions; poll?: PollOptions } = {}): Promise<SessionStatus> {
    const s = await this.status();
    if (s.status === "created") {
      const have = new Set(s.images.map((i) => i.name));
      const needsDocument = s.requested_checks.some((c) => c === "document" || c === "face");
      const needsSelfie = s.requested_checks.includes("face");
      if (needsDocument && !have.has("document_front")) {
        const d = await this.captureDocument(container, o.document);
        await this.uploadDocument(d.image);
      }
      if (needsSelfie && !have.has("selfie")) {
        const f = await this.captureSelfie(container, o.selfie);
        await this.uploadSelfie(f.image);
      }
      await this.submit();
    }
    return this.waitForDecision(o.poll);
  }
}

/**
 * createSession opens (or resumes: the same call) a session in the
 * browser with the session token the tenant's server obtained from
 * POST /v1/sessions/{id}/token. Nothing is requested until a method is
 * called.
 */
export function createSession(o: SessionOptions): EkycSession {
  return new EkycSession(o);
}
