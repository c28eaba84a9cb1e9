/**
 * Frame quality heuristics, computed on canvas frames in the browser.
 *
 * They are deliberately simple, cheap (a frame is downscaled to at most
 * {@link ANALYSIS_SIDE} pixels on its long side first) and explainable;
 * they steer the applicant towards a usable photo, they do not judge the
 * document or the face — the node's checks do that. See docs/sdk.md for
 * their limits.
 *
 * - blur: the variance of the 4-neighbour Laplacian of the grey frame. A
 *   sharp frame has strong second derivatives at edges and text; a
 *   blurred one does not. Depends on the scene (a blank wall is "blurred").
 * - glare: the fraction of near-saturated pixels (luma ≥ 250 of 255) inside
 *   the region of interest. Specular reflections on a laminated document
 *   burn out whole patches.
 * - edges: the fraction of pixels with a strong gradient (Sobel magnitude)
 *   in a thin band along each side of the document frame; a document lined
 *   up with the overlay puts its borders in those bands. Every side must
 *   show some. It is not document detection: any straight high-contrast
 *   line in the band counts.
 * - selfie: brightness (mean luma) and contrast (standard deviation of
 *   luma) inside the central face oval, plus the blur measure there. This
 *   is NOT face detection: it tells a lit, textured subject in the oval
 *   from darkness, a blank wall or an over-exposed frame, nothing more.
 */

/** The shape of a canvas ImageData (RGBA, row-major). */
export interface Frame {
  readonly data: Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

/** A grey (luma, 0..255) image. */
export interface GreyImage {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** A rectangle in fractions (0..1) of the frame's width and height. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Frames are analysed at most this large (long side, pixels). */
export const ANALYSIS_SIDE = 320;

/** Thresholds of the document assessment. */
export interface DocumentThresholds {
  /** Minimum Laplacian variance (grey levels²) for "sharp". */
  minSharpness: number;
  /** Maximum fraction of near-saturated pixels inside the frame. */
  maxGlare: number;
  /** Minimum strong-gradient fraction in each side's band. */
  minEdgeDensity: number;
}

/** Thresholds of the selfie assessment. */
export interface SelfieThresholds {
  minSharpness: number;
  /** Mean luma inside the oval, inclusive range. */
  minBrightness: number;
  maxBrightness: number;
  /** Minimum standard deviation of luma inside the oval. */
  minContrast: number;
  maxGlare: number;
}

export const DEFAULT_DOCUMENT_THRESHOLDS: Readonly<DocumentThresholds> = {
  minSharpness: 60,
  maxGlare: 0.02,
  minEdgeDensity: 0.04,
};

export const DEFAULT_SELFIE_THRESHOLDS: Readonly<SelfieThresholds> = {
  minSharpness: 20,
  minBrightness: 60,
  maxBrightness: 210,
  minContrast: 18,
  maxGlare: 0.05,
};

/** The document frame overlay: ID-1 aspect ratio (85.6 × 54 mm), centred. */
export const DOCUMENT_FRAME: Readonly<Rect> = { x: 0.1, y: 0.175, w: 0.8, h: 0.65 };

/** The selfie oval's bounding box, centred. */
export const FACE_OVAL: Readonly<Rect> = { x: 0.3, y: 0.12, w: 0.4, h: 0.76 };

/** Luma at or above which a pixel counts as saturated (glare). */
export const GLARE_LUMA = 250;

/** Sobel magnitude at or above which a pixel is an edge. */
export const EDGE_MAGNITUDE = 96;

/** Issues an assessment can report; stable strings for the UI to map. */
export type QualityIssue =
  | "blurry"
  | "glare"
  | "edges_not_found"
  | "too_dark"
  | "too_bright"
  | "low_contrast"
  | "no_face"
  | "multiple_faces"
  | "face_off_centre"
  | "face_too_small"
  | "face_too_large";

export interface DocumentQuality {
  kind: "document";
  sharpness: number;
  glare: number;
  /** Strong-gradient fraction in the top, right, bottom and left bands. */
  edges: [number, number, number, number];
  ok: boolean;
  issues: QualityIssue[];
}

export interface SelfieQuality {
  kind: "selfie";
  sharpness: number;
  brightness: number;
  contrast: number;
  glare: number;
  /**
   * Faces the node's detector found in the latest probed frame
   * (POST .../selfie/probe); undefined when no probe answered (yet, or the
   * node has no face detection): then only the heuristics judge.
   */
  faces?: number;
  ok: boolean;
  issues: QualityIssue[];
}

export type Quality = DocumentQuality | SelfieQuality;

/**
 * toGrey converts an RGBA frame to luma (Rec. 601), box-downscaled so its
 * long side is at most maxSide. A frame with no pixels, or whose data is
 * shorter than width×height×4, is an error.
 */
export function toGrey(frame: Frame, maxSide = ANALYSIS_SIDE): GreyImage {
  const { width, height, data } = frame;
  if (!(width > 0 && height > 0) || data.length < width * height * 4) {
    throw new RangeError("frame: empty or inconsistent dimensions");
  }
  const scale = Math.max(1, Math.ceil(Math.max(width, height) / maxSide));
  const w = Math.floor(width / scale) || 1;
  const h = Math.floor(height / scale) || 1;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      let n = 0;
      for (let dy = 0; dy < scale; dy++) {
        const sy = y * scale + dy;
        if (sy >= height) break;
        for (let dx = 0; dx < scale; dx++) {
          const sx = x * scale + dx;
          if (sx >= width) break;
          const i = (sy * width + sx) * 4;
          sum += 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
          n++;
        }
      }
      out[y * w + x] = sum / n;
    }
  }
  return { data: out, width: w, height: h };
}

/** Pixel bounds of a fractional rectangle in an image, clamped. */
function bounds(img: { width: number; height: number }, r: Rect): [number, number, number, number] {
  const x0 = Math.max(0, Math.floor(r.x * img.width));
  const y0 = Math.max(0, Math.floor(r.y * img.height));
  const x1 = Math.min(img.width, Math.ceil((r.x + r.w) * img.width));
  const y1 = Math.min(img.height, Math.ceil((r.y + r.h) * img.height));
  return [x0, y0, x1, y1];
}

/** The whole image as a rectangle. */
export const FULL: Readonly<Rect> = { x: 0, y: 0, w: 1, h: 1 };

/**
 * laplacianVariance is the variance of the 4-neighbour Laplacian over the
 * interior of region r (default: the whole image). Higher is sharper.
 * Regions smaller than 3×3 pixels give 0.
 */
export function laplacianVariance(g: GreyImage, r: Rect = FULL, mask?: (x: number, y: number) => boolean): number {
  const [x0, y0, x1, y1] = bounds(g, r);
  const d = g.data;
  const w = g.width;
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (let y = Math.max(1, y0); y < Math.min(g.height - 1, y1); y++) {
    for (let x = Math.max(1, x0); x < Math.min(w - 1, x1); x++) {
      if (mask && !mask(x, y)) continue;
      const i = y * w + x;
      const l = d[i - 1]! + d[i + 1]! + d[i - w]! + d[i + w]! - 4 * d[i]!;
      sum += l;
      sq += l * l;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return sq / n - mean * mean;
}

/** glareFraction is the fraction of pixels of r with luma ≥ GLARE_LUMA. */
export function glareFraction(g: GreyImage, r: Rect = FULL, mask?: (x: number, y: number) => boolean): number {
  const [x0, y0, x1, y1] = bounds(g, r);
  let n = 0;
  let hot = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (mask && !mask(x, y)) continue;
      n++;
      if (g.data[y * g.width + x]! >= GLARE_LUMA) hot++;
    }
  }
  return n === 0 ? 0 : hot / n;
}

/** Sobel gradient magnitude at an interior pixel. */
function sobel(g: GreyImage, x: number, y: number): number {
  const w = g.width;
  const d = g.data;
  const i = y * w + x;
  const gx = d[i - w + 1]! + 2 * d[i + 1]! + d[i + w + 1]! - d[i - w - 1]! - 2 * d[i - 1]! - d[i + w - 1]!;
  const gy = d[i + w - 1]! + 2 * d[i + w]! + d[i + w + 1]! - d[i - w - 1]! - 2 * d[i - w]! - d[i - w + 1]!;
  return Math.hypot(gx, gy);
}

/** Fraction of interior pixels of the pixel box with Sobel magnitude ≥ EDGE_MAGNITUDE. */
function edgeFraction(g: GreyImage, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  let e = 0;
  for (let y = Math.max(1, y0); y < Math.min(g.height - 1, y1); y++) {
    for (let x = Math.max(1, x0); x < Math.min(g.width - 1, x1); x++) {
      n++;
      if (sobel(g, x, y) >= EDGE_MAGNITUDE) e++;
    }
  }
  return n === 0 ? 0 : e / n;
}

/**
 * borderEdgeDensity is the strong-gradient fraction in a band along each
 * side of the frame rectangle r: [top, right, bottom, left]. The band is
 * bandFrac of the smaller side of r wide (at least 3 pixels), centred on
 * the side.
 */
export function borderEdgeDensity(g: GreyImage, r: Rect = DOCUMENT_FRAME, bandFrac = 0.08): [number, number, number, number] {
  const [x0, y0, x1, y1] = bounds(g, r);
  const band = Math.max(3, Math.round(Math.min(x1 - x0, y1 - y0) * bandFrac));
  const half = Math.floor(band / 2);
  return [
    edgeFraction(g, x0, y0 - half, x1, y0 + half + 1),
    edgeFraction(g, x1 - half - 1, y0, x1 + half, y1),
    edgeFraction(g, x0, y1 - half - 1, x1, y1 + half),
    edgeFraction(g, x0 - half, y0, x0 + half + 1, y1),
  ];
}

/** The mask of the ellipse inscribed in r, in g's pixels. */
export function ovalMask(g: { width: number; height: number }, r: Rect): (x: number, y: number) => boolean {
  const cx = (r.x + r.w / 2) * g.width;
  const cy = (r.y + r.h / 2) * g.height;
  const rx = (r.w / 2) * g.width;
  const ry = (r.h / 2) * g.height;
  return (x, y) => {
    const dx = (x + 0.5 - cx) / rx;
    const dy = (y + 0.5 - cy) / ry;
    return dx * dx + dy * dy <= 1;
  };
}

/** Mean and standard deviation of luma inside a mask over r. */
export function lumaStats(g: GreyImage, r: Rect, mask?: (x: number, y: number) => boolean): { mean: number; std: number } {
  const [x0, y0, x1, y1] = bounds(g, r);
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (mask && !mask(x, y)) continue;
      const v = g.data[y * g.width + x]!;
      sum += v;
      sq += v * v;
      n++;
    }
  }
  if (n === 0) return { mean: 0, std: 0 };
  const mean = sum / n;
  return { mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)) };
}

/** assessDocument measures a frame against the document frame overlay. */
export function assessDocument(
  frame: Frame,
  thresholds: Partial<DocumentThresholds> = {},
  rect: Rect = DOCUMENT_FRAME,
): DocumentQuality {
  const t = { ...DEFAULT_DOCUMENT_THRESHOLDS, ...thresholds };
  const g = toGrey(frame);
  const sharpness = laplacianVariance(g, rect);
  const glare = glareFraction(g, rect);
  const edges = borderEdgeDensity(g, rect);
  const issues: QualityIssue[] = [];
  if (sharpness < t.minSharpness) issues.push("blurry");
  if (glare > t.maxGlare) issues.push("glare");
  if (edges.some((e) => e < t.minEdgeDensity)) issues.push("edges_not_found");
  return { kind: "document", sharpness, glare, edges, ok: issues.length === 0, issues };
}

/** assessSelfie measures the central face oval of a frame. Not face detection. */
export function assessSelfie(frame: Frame, thresholds: Partial<SelfieThresholds> = {}, oval: Rect = FACE_OVAL): SelfieQuality {
  const t = { ...DEFAULT_SELFIE_THRESHOLDS, ...thresholds };
  const g = toGrey(frame);
  const mask = ovalMask(g, oval);
  const { mean, std } = lumaStats(g, oval, mask);
  const sharpness = laplacianVariance(g, oval, mask);
  const glare = glareFraction(g, oval, mask);
  const issues: QualityIssue[] = [];
  if (mean < t.minBrightness) issues.push("too_dark");
  if (mean > t.maxBrightness) issues.push("too_bright");
  if (std < t.minContrast) issues.push("low_contrast");
  if (sharpness < t.minSharpness) issues.push("blurry");
  if (glare > t.maxGlare) issues.push("glare");
  return { kind: "selfie", sharpness, brightness: mean, contrast: std, glare, ok: issues.length === 0, issues };
}

/** Human-readable hints for the issues (English; hosts may map their own). */
export const ISSUE_HINTS: Readonly<Record<QualityIssue, string>> = {
  blurry: "Hold still — the image is blurred",
  glare: "Tilt slightly to avoid reflections",
  edges_not_found: "Line the document up with the frame",
  too_dark: "More light, please",
  too_bright: "Too bright — avoid direct light",
  low_contrast: "Place your face inside the oval",
  no_face: "Place your face inside the oval",
  multiple_faces: "Only one face, please",
  face_off_centre: "Centre your face in the oval",
  face_too_small: "Come a little closer",
  face_too_large: "Move back a little",
};

/** A face box from the node's detector, in fractions of the frame. */
export interface FaceBox {
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
}

/** How a detected face must sit in the oval. */
export interface FaceThresholds {
  /** The face's centre must lie within the oval scaled by this (default 0.6). */
  centreTolerance: number;
  /** Face box width as a fraction of the oval's width: at least (default 0.35) ... */
  minFaceWidth: number;
  /** ... and at most (default 1.3). */
  maxFaceWidth: number;
  /** Detections below this score are ignored (default 0.5). */
  minScore: number;
}

export const DEFAULT_FACE_THRESHOLDS: Readonly<FaceThresholds> = { centreTolerance: 0.6, minFaceWidth: 0.35, maxFaceWidth: 1.3, minScore: 0.5 };

/**
 * assessFaces judges the node detector's answer for one frame against the
 * oval: exactly one face, its centre inside the oval (scaled by
 * centreTolerance), its width a sensible fraction of the oval's. Returns
 * the issues (empty: the face is well placed).
 */
export function assessFaces(faces: readonly FaceBox[], oval: Rect = FACE_OVAL, thresholds: Partial<FaceThresholds> = {}): QualityIssue[] {
  const t = { ...DEFAULT_FACE_THRESHOLDS, ...thresholds };
  const seen = faces.filter((f) => f.score >= t.minScore);
  if (seen.length === 0) return ["no_face"];
  if (seen.length > 1) return ["multiple_faces"];
  const f = seen[0]!;
  const issues: QualityIssue[] = [];
  const cx = f.x + f.w / 2;
  const cy = f.y + f.h / 2;
  const ox = oval.x + oval.w / 2;
  const oy = oval.y + oval.h / 2;
  const rx = (oval.w / 2) * t.centreTolerance;
  const ry = (oval.h / 2) * t.centreTolerance;
  if (((cx - ox) / rx) ** 2 + ((cy - oy) / ry) ** 2 > 1) issues.push("face_off_centre");
  const rel = f.w / oval.w;
  if (rel < t.minFaceWidth) issues.push("face_too_small");
  if (rel > t.maxFaceWidth) issues.push("face_too_large");
  return issues;
}
