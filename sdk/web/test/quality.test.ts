import { test } from "node:test";
import assert from "node:assert/strict";
import {
  assessDocument,
  assessFaces,
  assessSelfie,
  borderEdgeDensity,
  DOCUMENT_FRAME,
  FACE_OVAL,
  ISSUE_HINTS,
  glareFraction,
  laplacianVariance,
  toGrey,
  type Frame,
  type Rect,
} from "../src/quality.js";

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A grey-level canvas to paint synthetic scenes on. */
class Scene {
  readonly px: Float32Array;
  constructor(readonly width: number, readonly height: number, fill: number) {
    this.px = new Float32Array(width * height).fill(fill);
  }
  rect(r: Rect, v: number): this {
    const x0 = Math.round(r.x * this.width), y0 = Math.round(r.y * this.height);
    const x1 = Math.round((r.x + r.w) * this.width), y1 = Math.round((r.y + r.h) * this.height);
    for (let y = Math.max(0, y0); y < Math.min(this.height, y1); y++)
      for (let x = Math.max(0, x0); x < Math.min(this.width, x1); x++) this.px[y * this.width + x] = v;
    return this;
  }
  /** Dark "text" strokes inside r. */
  text(r: Rect, seed: number): this {
    const rand = rng(seed);
    const x0 = r.x * this.width, y0 = r.y * this.height, w = r.w * this.width, h = r.h * this.height;
    for (let line = 0; line < 8; line++) {
      const y = Math.round(y0 + h * (0.15 + line * 0.09));
      for (let x = Math.round(x0 + w * 0.08); x < x0 + w * 0.92; x += 6) {
        if (rand() < 0.3) continue;
        for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 3; dx++) this.px[(y + dy) * this.width + x + dx] = 30;
      }
    }
    return this;
  }
  /** A blurred copy (box filter of radius r, applied passes times). */
  blurred(r: number, passes = 3): Scene {
    const out = new Scene(this.width, this.height, 0);
    out.px.set(this.px);
    const tmp = new Float32Array(this.px.length);
    for (let p = 0; p < passes; p++) {
      for (let y = 0; y < this.height; y++)
        for (let x = 0; x < this.width; x++) {
          let s = 0, n = 0;
          for (let d = -r; d <= r; d++) {
            const xx = x + d;
            if (xx >= 0 && xx < this.width) { s += out.px[y * this.width + xx]!; n++; }
          }
          tmp[y * this.width + x] = s / n;
        }
      for (let y = 0; y < this.height; y++)
        for (let x = 0; x < this.width; x++) {
          let s = 0, n = 0;
          for (let d = -r; d <= r; d++) {
            const yy = y + d;
            if (yy >= 0 && yy < this.height) { s += tmp[yy * this.width + x]!; n++; }
          }
          out.px[y * this.width + x] = s / n;
        }
    }
    return out;
  }
  noise(amount: number, seed: number): this {
    const rand = rng(seed);
    for (let i = 0; i < this.px.length; i++) this.px[i] = Math.min(255, Math.max(0, this.px[i]! + (rand() - 0.5) * 2 * amount));
    return this;
  }
  frame(): Frame {
    const data = new Uint8ClampedArray(this.width * this.height * 4);
    for (let i = 0; i < this.px.length; i++) {
      data[i * 4] = data[i * 4 + 1] = data[i * 4 + 2] = this.px[i]!;
      data[i * 4 + 3] = 255;
    }
    return { data, width: this.width, height: this.height };
  }
}

/** A light ID card lined up with the overlay, with text, on a dark desk. */
function documentScene(): Scene {
  return new Scene(640, 480, 50).rect(DOCUMENT_FRAME, 215).text(DOCUMENT_FRAME, 7);
}

test("toGrey downscales and converts with Rec. 601 weights", () => {
  const data = new Uint8ClampedArray(4 * 4 * 4);
  for (let i = 0; i < 16; i++) { data[i * 4] = 255; data[i * 4 + 3] = 255; } // pure red
  const g = toGrey({ data, width: 4, height: 4 }, 2);
  assert.equal(g.width, 2);
  assert.equal(g.height, 2);
  for (const v of g.data) assert.ok(Math.abs(v - 0.299 * 255) < 1e-3);
  assert.throws(() => toGrey({ data: new Uint8ClampedArray(0), width: 0, height: 0 }), RangeError);
  assert.throws(() => toGrey({ data: new Uint8ClampedArray(8), width: 4, height: 4 }), RangeError);
});

test("Laplacian variance tells a sharp frame from a blurred one", () => {
  const sharp = documentScene();
  const blurred = sharp.blurred(3);
  const s = laplacianVariance(toGrey(sharp.frame()), DOCUMENT_FRAME);
  const b = laplacianVariance(toGrey(blurred.frame()), DOCUMENT_FRAME);
  assert.ok(s > 10 * b, `sharp ${s} vs blurred ${b}`);
  assert.equal(laplacianVariance(toGrey(new Scene(64, 64, 128).frame())), 0, "a flat frame has no detail");
});

test("a sharp, lined-up document passes; its blurred copy is blurry", () => {
  const ok = assessDocument(documentScene().frame());
  assert.deepEqual(ok.issues, [], JSON.stringify(ok));
  assert.equal(ok.ok, true);
  const bad = assessDocument(documentScene().blurred(3).frame());
  assert.ok(bad.issues.includes("blurry"), JSON.stringify(bad));
  assert.equal(bad.ok, false);
});

test("a burnt-out patch on the document is glare", () => {
  const s = documentScene().rect({ x: 0.35, y: 0.35, w: 0.2, h: 0.2 }, 255);
  const q = assessDocument(s.frame());
  assert.ok(q.glare > 0.05, `glare ${q.glare}`);
  assert.ok(q.issues.includes("glare"));
  assert.equal(glareFraction(toGrey(documentScene().frame()), DOCUMENT_FRAME), 0);
  // The threshold is an option.
  assert.ok(!assessDocument(s.frame(), { maxGlare: 0.5 }).issues.includes("glare"));
});

test("a document off the overlay has no edges in the frame's bands", () => {
  // The card sits in the middle, far from the overlay's borders.
  const s = new Scene(640, 480, 50).rect({ x: 0.3, y: 0.35, w: 0.4, h: 0.3 }, 215).text({ x: 0.3, y: 0.35, w: 0.4, h: 0.3 }, 3);
  const q = assessDocument(s.frame());
  assert.ok(q.issues.includes("edges_not_found"), JSON.stringify(q));
  const e = borderEdgeDensity(toGrey(documentScene().frame()), DOCUMENT_FRAME);
  for (const side of e) assert.ok(side > 0.1, `lined-up sides ${e}`);
});

/** A face-like subject: a mid-tone oval with texture and dark features. */
function selfieScene(): Scene {
  const s = new Scene(640, 480, 90);
  s.rect({ x: 0.33, y: 0.15, w: 0.34, h: 0.7 }, 165);
  s.rect({ x: 0.4, y: 0.35, w: 0.06, h: 0.04 }, 40).rect({ x: 0.54, y: 0.35, w: 0.06, h: 0.04 }, 40);
  s.rect({ x: 0.45, y: 0.62, w: 0.1, h: 0.03 }, 60);
  return s.noise(12, 11);
}

test("selfie: a lit, textured subject passes; dark, bright and blank frames do not", () => {
  const ok = assessSelfie(selfieScene().frame());
  assert.deepEqual(ok.issues, [], JSON.stringify(ok));
  const dark = assessSelfie(new Scene(640, 480, 15).frame());
  assert.ok(dark.issues.includes("too_dark") && dark.issues.includes("low_contrast"), JSON.stringify(dark));
  const bright = assessSelfie(new Scene(640, 480, 252).frame());
  assert.ok(bright.issues.includes("too_bright") && bright.issues.includes("glare"), JSON.stringify(bright));
  const wall = assessSelfie(new Scene(640, 480, 128).noise(2, 5).frame());
  assert.ok(wall.issues.includes("low_contrast"), JSON.stringify(wall));
  const blurred = assessSelfie(selfieScene().blurred(6).frame());
  assert.ok(blurred.issues.includes("blurry"), JSON.stringify(blurred));
});

test("the selfie is judged inside the oval only", () => {
  // Detail everywhere but inside the oval: still a blank subject.
  const s = new Scene(640, 480, 128).noise(80, 3);
  assert.ok(assessSelfie(s.frame()).ok, "noise inside the oval passes");
  // Paint the oval's box flat: the oval lies within it.
  s.rect(FACE_OVAL, 128);
  const q = assessSelfie(s.frame());
  assert.ok(q.issues.includes("low_contrast"), JSON.stringify(q));
});

test("assessFaces: one face, centred in the oval, of a sensible size", () => {
  const oval = FACE_OVAL; // x 0.3..0.7, y 0.12..0.88
  const centred = { x: 0.38, y: 0.3, w: 0.24, h: 0.32, score: 0.97 };
  assert.deepEqual(assessFaces([centred], oval), []);
  assert.deepEqual(assessFaces([], oval), ["no_face"]);
  assert.deepEqual(assessFaces([{ ...centred, score: 0.2 }], oval), ["no_face"], "low scores do not count");
  assert.deepEqual(assessFaces([centred, { ...centred, x: 0.05 }], oval), ["multiple_faces"]);
  assert.deepEqual(assessFaces([{ ...centred, x: 0.02 }], oval), ["face_off_centre"]);
  assert.deepEqual(assessFaces([{ ...centred, y: 0.7 }], oval), ["face_off_centre"]);
  assert.deepEqual(assessFaces([{ x: 0.46, y: 0.44, w: 0.08, h: 0.1, score: 0.9 }], oval), ["face_too_small"]);
  assert.deepEqual(assessFaces([{ x: 0.15, y: 0.1, w: 0.7, h: 0.8, score: 0.9 }], oval), ["face_too_large"]);
  assert.deepEqual(assessFaces([{ x: 0.46, y: 0.44, w: 0.08, h: 0.1, score: 0.9 }], oval, { minFaceWidth: 0.1 }), [], "thresholds are tunable");
  for (const i of ["no_face", "multiple_faces", "face_off_centre", "face_too_small", "face_too_large"] as const) {
    assert.ok(ISSUE_HINTS[i].length > 0, i);
  }
});
