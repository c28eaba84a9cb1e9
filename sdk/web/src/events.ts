import type { Quality } from "./quality.js";
import type { SessionStatus, ImageInfo, Submitted } from "./client.js";

/** Which capture an event belongs to. */
export type CaptureKind = "document" | "selfie";

/** The events an {@link EkycSession} emits, by type, with their detail. */
export interface EkycEventMap {
  /** A live frame was assessed (a few times a second while capturing). */
  quality: { capture: CaptureKind; quality: Quality };
  /** The applicant took (or picked) the image. */
  captured: { capture: CaptureKind; image: Blob; source: "camera" | "file" };
  /** The image was stored by the node. */
  uploaded: { capture: CaptureKind; image: ImageInfo };
  /** The session was queued for verification. */
  submitted: Submitted;
  /** A status poll returned (also before the decision). */
  status: SessionStatus;
  /** The session has a decision (or finished without one: failed, erased). */
  decided: SessionStatus;
  /** Something failed; the flow stopped at `stage`. */
  error: { stage: "capture" | "upload" | "submit" | "status"; error: Error };
}

export type EkycEventType = keyof EkycEventMap;

/** A listener of one event type. */
export type Listener<K extends EkycEventType> = (detail: EkycEventMap[K]) => void;

/**
 * Emitter is a typed event target: `on` and `off` take listeners of the
 * detail; it is also a DOM EventTarget dispatching CustomEvents of the
 * same types, so `addEventListener("decided", (e) => e.detail)` works too.
 * A listener that throws does not stop the others or the flow.
 */
export class Emitter extends EventTarget {
  #wrapped = new Map<EkycEventType, Map<Function, EventListener>>();

  /** on adds a listener and returns a function that removes it. */
  on<K extends EkycEventType>(type: K, fn: Listener<K>): () => void {
    let m = this.#wrapped.get(type);
    if (!m) {
      m = new Map();
      this.#wrapped.set(type, m);
    }
    if (!m.has(fn)) {
      const l: EventListener = (e) => {
        try {
          fn((e as CustomEvent<EkycEventMap[K]>).detail);
        } catch (err) {
          // A host's listener must not break the flow: report, go on.
          const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
          if (report) report(err);
          else console.error(err);
        }
      };
      m.set(fn, l);
      this.addEventListener(type, l);
    }
    return () => this.off(type, fn);
  }

  /** once adds a listener called for the next event of the type only. */
  once<K extends EkycEventType>(type: K, fn: Listener<K>): () => void {
    const off = this.on(type, (d) => {
      off();
      fn(d);
    });
    return off;
  }

  /** off removes a listener added with on. */
  off<K extends EkycEventType>(type: K, fn: Listener<K>): void {
    const l = this.#wrapped.get(type)?.get(fn);
    if (l) {
      this.removeEventListener(type, l);
      this.#wrapped.get(type)!.delete(fn);
    }
  }

  /** emit dispatches an event to every listener, synchronously. */
  emit<K extends EkycEventType>(type: K, detail: EkycEventMap[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
