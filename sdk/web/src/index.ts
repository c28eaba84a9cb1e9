/**
 * @openekyc/web-sdk — the browser side of an ekyc verification: guided
 * document and selfie capture with live quality feedback, upload, submit
 * and the decision, with a short-lived session token (never an API key).
 * See docs/sdk.md.
 */
export { createSession, EkycSession, type SessionOptions } from "./session.js";
export {
  Client,
  ApiError,
  pollUntilFinal,
  isFinal,
  FINAL_STATUSES,
  type ClientOptions,
  type SessionStatus,
  type ImageInfo,
  type Submitted,
  type Decision,
  type CheckResult,
  type PollOptions,
} from "./client.js";
export { capture, type CaptureOptions, type CaptureLabels, type Captured } from "./capture.js";
export { Emitter, type EkycEventMap, type EkycEventType, type Listener, type CaptureKind } from "./events.js";
export * from "./quality.js";
