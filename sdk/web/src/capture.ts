/**
 * The guided capture UI: a camera preview with a frame overlay (document
 * rectangle or face oval), live quality feedback, and a capture button
 * enabled once the frame passes; with a file picker as the fallback when
 * the camera is unavailable or refused (and as an alternative always).
 *
 * Every element carries a stable data-testid (docs/sdk.md).
 */
import {
  assessDocument,
  assessFaces,
  assessSelfie,
  DOCUMENT_FRAME,
  FACE_OVAL,
  ISSUE_HINTS,
  type DocumentThresholds,
  type FaceBox,
  type FaceThresholds,
  type Quality,
  type Rect,
  type SelfieThresholds,
} from "./quality.js";
import type { CaptureKind } from "./events.js";

export interface CaptureOptions {
  /** Camera facing: "environment" (default for the document) or "user" (selfie). */
  facingMode?: "environment" | "user";
  /** Quality thresholds overriding the defaults. */
  thresholds?: Partial<DocumentThresholds & SelfieThresholds & FaceThresholds>;
  /**
   * Selfie only: asks a face detector where the faces are in a downscaled
   * frame (EkycSession passes the node's, POST .../selfie/probe). Its
   * answer adds no_face / multiple_faces / face_off_centre /
   * face_too_small / face_too_large to the feedback. A rejection turns
   * the probe off for this capture (the heuristics alone judge).
   */
  faceProbe?: (frame: Blob) => Promise<FaceBox[]>;
  /** Milliseconds between face probes (default 1000). */
  probeIntervalMs?: number;
  /**
   * When false the capture button is enabled whatever the quality (the
   * feedback is still shown). Default true.
   */
  requireQuality?: boolean;
  /** Frames assessed per second (default 5). */
  analysisFps?: number;
  /** JPEG quality of the captured image (default 0.92). */
  jpegQuality?: number;
  /** Texts shown to the applicant. */
  labels?: Partial<CaptureLabels>;
  /** Called with each frame's assessment. */
  onQuality?: (q: Quality) => void;
  /** Abort the capture (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  /** getUserMedia to use (tests); default navigator.mediaDevices.getUserMedia. */
  getUserMedia?: (c: MediaStreamConstraints) => Promise<MediaStream>;
}

export interface CaptureLabels {
  title: string;
  capture: string;
  upload: string;
  ready: string;
  noCamera: string;
}

const DEFAULT_LABELS: Record<CaptureKind, CaptureLabels> = {
  document: {
    title: "Photograph the photo page of your document",
    capture: "Take photo",
    upload: "Upload a photo instead",
    ready: "Looks good — take the photo",
    noCamera: "No camera available: upload a photo of your document",
  },
  selfie: {
    title: "Take a selfie",
    capture: "Take selfie",
    upload: "Upload a photo instead",
    ready: "Looks good — take the selfie",
    noCamera: "No camera available: upload a photo of your face",
  },
};

/** The result of a capture. */
export interface Captured {
  image: Blob;
  source: "camera" | "file";
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, testid: string, attrs: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.dataset.testid = testid;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** drawOverlay darkens everything outside the frame and outlines it. */
function drawOverlay(c: HTMLCanvasElement, kind: CaptureKind, r: Rect, ok: boolean): void {
  const ctx = c.getContext("2d");
  if (!ctx) return;
  const { width: w, height: h } = c;
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = "rgba(0,0,0,0.45)";
  ctx.fillRect(0, 0, w, h);
  ctx.globalCompositeOperation = "destination-out";
  ctx.beginPath();
  if (kind === "document") {
    ctx.rect(r.x * w, r.y * h, r.w * w, r.h * h);
  } else {
    ctx.ellipse((r.x + r.w / 2) * w, (r.y + r.h / 2) * h, (r.w / 2) * w, (r.h / 2) * h, 0, 0, 2 * Math.PI);
  }
  ctx.fill();
  ctx.globalCompositeOperation = "source-over";
  ctx.lineWidth = Math.max(2, w / 160);
  ctx.strokeStyle = ok ? "#2ecc71" : "#f5f5f5";
  ctx.stroke();
}

/**
 * capture runs the capture UI in container until the applicant takes or
 * picks an image. The container is emptied first and again at the end.
 */
export async function capture(container: HTMLElement, kind: CaptureKind, o: CaptureOptions = {}): Promise<Captured> {
  const labels = { ...DEFAULT_LABELS[kind], ...o.labels };
  const rect = kind === "document" ? DOCUMENT_FRAME : FACE_OVAL;
  const requireQuality = o.requireQuality ?? true;
  const fps = Math.min(30, Math.max(1, o.analysisFps ?? 5));

  container.replaceChildren();
  const root = el("div", `ekyc-capture-${kind}`, { class: "ekyc-capture" });
  const title = el("p", "ekyc-title", { class: "ekyc-title" });
  title.textContent = labels.title;
  const stage = el("div", "ekyc-stage", { class: "ekyc-stage" });
  stage.style.position = "relative";
  const video = el("video", "ekyc-video", { playsinline: "", muted: "", autoplay: "" });
  video.muted = true;
  video.style.width = "100%";
  video.style.display = "block";
  const overlay = el("canvas", "ekyc-overlay", { "aria-hidden": "true" });
  Object.assign(overlay.style, { position: "absolute", inset: "0", width: "100%", height: "100%", pointerEvents: "none" });
  const feedback = el("p", "ekyc-feedback", { class: "ekyc-feedback", role: "status", "aria-live": "polite" });
  const shoot = el("button", "ekyc-capture-button", { type: "button", class: "ekyc-button" });
  shoot.textContent = labels.capture;
  shoot.disabled = true;
  const fileLabel = el("label", "ekyc-file-label", { class: "ekyc-file" });
  const file = el("input", "ekyc-file-input", { type: "file", accept: "image/jpeg,image/png" });
  if (kind === "selfie") file.setAttribute("capture", "user");
  fileLabel.append(labels.upload + " ", file);
  stage.append(video, overlay);
  root.append(title, stage, feedback, shoot, fileLabel);
  container.append(root);

  let stream: MediaStream | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  const cleanup = () => {
    if (timer !== undefined) clearInterval(timer);
    stream?.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
    container.replaceChildren();
  };

  return new Promise<Captured>((resolve, reject) => {
    let done = false;
    const finish = (r: Captured | Error) => {
      if (done) return;
      done = true;
      cleanup();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    if (o.signal) {
      if (o.signal.aborted) return finish(o.signal.reason instanceof Error ? o.signal.reason : new Error("aborted"));
      o.signal.addEventListener("abort", () => finish(o.signal!.reason instanceof Error ? o.signal!.reason : new Error("aborted")), { once: true });
    }

    file.addEventListener("change", () => {
      const f = file.files?.[0];
      if (!f) return;
      if (f.type !== "image/jpeg" && f.type !== "image/png") {
        feedback.textContent = "Please choose a JPEG or PNG image";
        return;
      }
      finish({ image: f, source: "file" });
    });

    const fallback = (why: string) => {
      stage.hidden = true;
      shoot.hidden = true;
      feedback.textContent = labels.noCamera;
      root.dataset.mode = "file";
      root.dataset.cameraError = why;
    };

    const frameCanvas = document.createElement("canvas");
    // Face probes: one in flight at a time, at most every probeIntervalMs.
    let faces: FaceBox[] | undefined;
    let probing = false;
    let probeOff = kind !== "selfie" || !o.faceProbe;
    let lastProbe = 0;
    const probeCanvas = document.createElement("canvas");
    const probe = () => {
      if (probeOff || probing || Date.now() - lastProbe < (o.probeIntervalMs ?? 1000)) return;
      const w = video.videoWidth;
      const h = video.videoHeight;
      if (!w || !h) return;
      const scale = Math.min(1, 480 / Math.max(w, h));
      probeCanvas.width = Math.max(64, Math.round(w * scale));
      probeCanvas.height = Math.max(64, Math.round(h * scale));
      probeCanvas.getContext("2d")?.drawImage(video, 0, 0, probeCanvas.width, probeCanvas.height);
      probing = true;
      lastProbe = Date.now();
      probeCanvas.toBlob((b) => {
        if (!b || done) {
          probing = false;
          return;
        }
        o.faceProbe!(b)
          .then((f) => {
            faces = f;
            root.dataset.faces = String(f.filter((x) => x.score >= (o.thresholds?.minScore ?? 0.5)).length);
          })
          .catch(() => {
            probeOff = true; // no detector on this node, or it failed: heuristics only
            faces = undefined;
            root.dataset.faceProbe = "off";
          })
          .finally(() => {
            probing = false;
          });
      }, "image/jpeg", 0.7);
    };
    const analyse = () => {
      if (video.readyState < 2 || !video.videoWidth) return;
      const w = video.videoWidth;
      const h = video.videoHeight;
      if (overlay.width !== w || overlay.height !== h) {
        overlay.width = w;
        overlay.height = h;
      }
      // Analyse a downscaled copy: the metrics downscale anyway.
      const scale = Math.min(1, 640 / Math.max(w, h));
      frameCanvas.width = Math.round(w * scale);
      frameCanvas.height = Math.round(h * scale);
      const ctx = frameCanvas.getContext("2d", { willReadFrequently: true });
      if (!ctx) return;
      ctx.drawImage(video, 0, 0, frameCanvas.width, frameCanvas.height);
      const img = ctx.getImageData(0, 0, frameCanvas.width, frameCanvas.height);
      const q = kind === "document" ? assessDocument(img, o.thresholds) : assessSelfie(img, o.thresholds);
      if (q.kind === "selfie") {
        probe();
        if (faces !== undefined) {
          const fi = assessFaces(faces, rect, o.thresholds);
          // A detected, well-placed face answers what the low-contrast
          // heuristic only guesses ("is there something in the oval").
          q.issues = [...q.issues.filter((i) => i !== "low_contrast" || fi.length > 0), ...fi.filter((i) => !q.issues.includes(i))];
          q.faces = faces.filter((x) => x.score >= (o.thresholds?.minScore ?? 0.5)).length;
          q.ok = q.issues.length === 0;
        }
      }
      drawOverlay(overlay, kind, rect, q.ok);
      feedback.textContent = q.ok ? labels.ready : q.issues.map((i) => ISSUE_HINTS[i]).join(" · ");
      root.dataset.quality = q.ok ? "ok" : q.issues.join(",");
      shoot.disabled = requireQuality && !q.ok;
      o.onQuality?.(q);
    };

    shoot.addEventListener("click", () => {
      const w = video.videoWidth;
      const h = video.videoHeight;
      if (!w || !h) return;
      const c = document.createElement("canvas");
      c.width = w;
      c.height = h;
      c.getContext("2d")?.drawImage(video, 0, 0, w, h);
      c.toBlob(
        (b) => (b ? finish({ image: b, source: "camera" }) : finish(new Error("the frame could not be encoded"))),
        "image/jpeg",
        o.jpegQuality ?? 0.92,
      );
    });

    const gum = o.getUserMedia ?? (navigator.mediaDevices?.getUserMedia?.bind(navigator.mediaDevices));
    if (!gum) {
      fallback("unavailable");
      return;
    }
    root.dataset.mode = "camera";
    feedback.textContent = "Starting the camera…";
    gum({
      audio: false,
      video: { facingMode: o.facingMode ?? (kind === "document" ? "environment" : "user"), width: { ideal: 1920 }, height: { ideal: 1080 } },
    })
      .then(async (s) => {
        if (done) {
          s.getTracks().forEach((t) => t.stop());
          return;
        }
        stream = s;
        video.srcObject = s;
        await video.play().catch(() => undefined);
        timer = setInterval(analyse, 1000 / fps);
      })
      .catch((e: unknown) => fallback(e instanceof Error && e.name ? e.name : "denied"));
  });
}
