/**
 * Face detection + 68-point landmarks (iBUG 300-W numbering: 0–16 jaw, 17–26 brows, 27–35 nose, 36–47 eyes,
 * 48–59 outer lips, 60–67 inner lips) through `@vladmandic/face-api`, whose model weights ship inside the npm
 * package (`node_modules/@vladmandic/face-api/model/`): nothing is downloaded at run time.
 *
 * Which build runs, and why: `face-api.node-wasm.js`, the package's Node build without native addons. It uses
 * the project's own `@tensorflow/tfjs` + `@tensorflow/tfjs-backend-wasm` (the ones training uses), so the
 * process keeps ONE TF.js engine. The other builds are unsuitable here: `face-api.node.js` / `-gpu` need
 * `@tensorflow/tfjs-node(-gpu)` (native, downloads libtensorflow at install); the self-contained browser
 * bundle `face-api.esm.js` carries a second TF.js copy that fails to import in Node ("this.util.TextEncoder is
 * not a constructor", vladmandic/face-api#140, tensorflow/tfjs#8597) and would clash with the project's engine.
 * The wasm binaries are read from `@tensorflow/tfjs-backend-wasm/dist/` in node_modules (`setWasmPaths`); the
 * weights from the face-api package directory, decoded with `tf.io.decodeWeights` (face-api's `loadFromDisk`
 * is avoided: it needs `require('fs')` via its environment shim).
 *
 * Backend: TF.js's backend is process-global. `backend: 'auto'` (default) keeps an already active fast backend
 * ('tensorflow' or 'wasm'), else selects 'wasm', else falls back to 'cpu' (plain JS, ~10× slower); the
 * landmarker reports which one runs (`backend`) and why (`backendReason`). Only use 'cpu' knowingly.
 *
 * Cost per 360×288 frame on one core of this 2-core CI-class machine (bench/features/camera.ts measures it):
 * wasm — tiny face detector (160 px input) + full 68-point net ≈ 25 ms together (~40 frames/s); the cpu backend
 * ≈ 0.5 s; SSD MobileNet v1 alone ≈ 0.7 s on wasm. Hence detection every N frames with tracking in between.
 *
 * Coordinates: boxes and points are in the pixels of the image passed in (image.ts conventions).
 * Lifecycle: `createFaceLandmarker` loads the nets once (≈ 0.5 MB of weights); calls must not overlap on one
 * instance (TF.js runs them on the calling thread; a detection blocks the event loop for its duration: run
 * the landmarker in a worker thread when the event loop must stay responsive). Every call frees its tensors;
 * `dispose` frees the weights.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import type * as TfNamespace from '@tensorflow/tfjs';
import type { Image8 } from './image.ts';
import { assertImage } from './image.ts';
import type { Box } from './roi.ts';

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface FaceLandmarks68 {
  /** The face box the landmarks were computed in (detector output, or the box given to `landmarksIn`). */
  readonly face: Box;
  /** Detector confidence in [0, 1]; NaN when the face box did not come from the detector. */
  readonly faceScore: number;
  /** 68 points, image pixels. */
  readonly points: readonly Point[];
}

export type FaceDetectorKind = 'tiny' | 'ssd';
export type LandmarkNetKind = 'full' | 'tiny';

export interface FaceLandmarkerOptions {
  /** 'tiny' (Tiny Face Detector, 190 KB, default) or 'ssd' (SSD MobileNet v1, 5.4 MB, ≈ 30× slower). */
  readonly detector?: FaceDetectorKind;
  /** Tiny detector input size (multiple of 32). Default 160 (a driver's face fills much of an in-car frame). */
  readonly inputSize?: number;
  /** Minimum detector score. Default 0.5. */
  readonly minScore?: number;
  /** 68-point net: 'full' (350 KB, default) or 'tiny' (75 KB, faster, less precise). */
  readonly landmarkNet?: LandmarkNetKind;
  /** Directory with the `*-weights_manifest.json` files. Default: the face-api package's `model/`. */
  readonly modelDir?: string;
  /** TF.js backend (see the header). Default 'auto'. */
  readonly backend?: LandmarkBackend;
}

export interface FaceLandmarker {
  /** Best-scoring face and its landmarks, or undefined when no face scores ≥ minScore. */
  detect(img: Image8): Promise<FaceLandmarks68 | undefined>;
  /** Landmarks inside a given face box (no detector): for tracking a face found earlier. */
  landmarksIn(img: Image8, face: Box): Promise<FaceLandmarks68 | undefined>;
  /** The TF.js backend in use, and why. */
  readonly backend: string;
  readonly backendReason: string;
  readonly options: Required<Omit<FaceLandmarkerOptions, 'modelDir' | 'backend'>>;
  dispose(): void;
}

// ---------------------------------------------------------------------------------------------------------
// Typed facade over the parts of face-api used here (its bundled .d.ts re-declares all of TF.js and does not
// line up with the project's @tensorflow/tfjs types); TF.js itself is used with its own types.
// ---------------------------------------------------------------------------------------------------------

type Tf = typeof TfNamespace;
type TfTensor = TfNamespace.Tensor;
type WeightSpec = TfNamespace.io.WeightsManifestEntry;

interface WeightsManifestGroup {
  readonly paths: readonly string[];
  readonly weights: readonly WeightSpec[];
}

interface FaceApiDetection {
  readonly score: number;
  readonly box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
}

interface FaceApiLandmarks {
  readonly positions: readonly Point[];
}

interface FaceApiNet {
  loadFromWeightMap(map: Record<string, TfTensor>): void;
  dispose(): void;
}

interface FaceApiDetector extends FaceApiNet {
  locateFaces(input: TfTensor, options: object): Promise<FaceApiDetection[]>;
}

interface FaceApiLandmarkNet extends FaceApiNet {
  detectLandmarks(input: TfTensor): Promise<FaceApiLandmarks | FaceApiLandmarks[]>;
}

interface FaceApiModule {
  readonly TinyFaceDetector: new () => FaceApiDetector;
  readonly SsdMobilenetv1: new () => FaceApiDetector;
  readonly FaceLandmark68Net: new () => FaceApiLandmarkNet;
  readonly FaceLandmark68TinyNet: new () => FaceApiLandmarkNet;
  readonly TinyFaceDetectorOptions: new (o: { inputSize: number; scoreThreshold: number }) => object;
  readonly SsdMobilenetv1Options: new (o: { minConfidence: number; maxResults: number }) => object;
}

/** face-api and the TF.js it runs on (the project's @tensorflow/tfjs: one engine per process). */
export interface FaceApi {
  readonly api: FaceApiModule;
  readonly tf: Tf;
  readonly setWasmPaths: (prefix: string) => void;
}

function isFaceApiModule(m: unknown): m is FaceApiModule {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return [
    'TinyFaceDetector',
    'SsdMobilenetv1',
    'FaceLandmark68Net',
    'FaceLandmark68TinyNet',
    'TinyFaceDetectorOptions',
    'SsdMobilenetv1Options',
  ].every((k) => typeof r[k] === 'function');
}

const FACE_API_NODE_WASM = '@vladmandic/face-api/dist/face-api.node-wasm.js';
let faceApiPromise: Promise<FaceApi> | undefined;

/** Imports face-api's Node wasm build once per process and checks that it has what this module uses. */
export function loadFaceApi(): Promise<FaceApi> {
  faceApiPromise ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const mod: unknown = await import(FACE_API_NODE_WASM);
    const api = (mod as { default?: unknown }).default ?? mod;
    if (!isFaceApiModule(api))
      throw new Error(`face-api: ${FACE_API_NODE_WASM} does not have the expected exports`);
    return { api, tf, setWasmPaths: (prefix: string) => wasm.setWasmPaths(prefix) };
  })();
  faceApiPromise.catch(() => {
    faceApiPromise = undefined; // let a later call retry (and report its own error)
  });
  return faceApiPromise;
}

const require = createRequire(import.meta.url);

/** The face-api package's bundled model directory. */
export function defaultModelDir(): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

/** Directory of @tensorflow/tfjs-backend-wasm's .wasm binaries, with a trailing separator. */
function wasmDir(): string {
  return dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')) + sep;
}

export type LandmarkBackend = 'auto' | 'wasm' | 'cpu' | 'tensorflow';

/** Selects the TF.js backend as `LandmarkBackend` says (see the header); returns the one running and why. */
async function ensureBackend(
  f: FaceApi,
  want: LandmarkBackend,
): Promise<{ backend: string; reason: string }> {
  const tf = f.tf;
  const current = tf.getBackend() as string | undefined;
  if (want === 'auto' && (current === 'wasm' || current === 'tensorflow'))
    return { backend: current, reason: `kept the process's active '${current}' backend` };
  const tryWasm = async (): Promise<boolean> => {
    try {
      f.setWasmPaths(wasmDir()); // no-op after a successful initialisation; wasm binaries from node_modules
      return await tf.setBackend('wasm');
    } catch {
      return false;
    }
  };
  if (want === 'auto') {
    if (await tryWasm())
      return { backend: 'wasm', reason: 'selected wasm (XNNPACK) from @tensorflow/tfjs-backend-wasm' };
    if (await tf.setBackend('cpu'))
      return {
        backend: 'cpu',
        reason: 'wasm did not initialise; fell back to the plain-JS cpu backend (slow)',
      };
    throw new Error('face-api: neither the wasm nor the cpu TF.js backend initialised');
  }
  const ok = want === 'wasm' ? await tryWasm() : await tf.setBackend(want).catch(() => false);
  if (!ok) throw new Error(`face-api: TF.js backend '${want}' did not initialise`);
  return { backend: want, reason: `'${want}' requested` };
}

async function loadNet<N extends FaceApiNet>(f: FaceApi, net: N, modelDir: string, name: string): Promise<N> {
  const manifestPath = join(modelDir, `${name}-weights_manifest.json`);
  let groups: WeightsManifestGroup[];
  try {
    groups = JSON.parse(await readFile(manifestPath, 'utf8')) as WeightsManifestGroup[];
  } catch (e) {
    throw new Error(`face-api weights: ${manifestPath}: ${(e as Error).message}`, { cause: e });
  }
  const specs = groups.flatMap((g) => g.weights);
  const parts = await Promise.all(groups.flatMap((g) => g.paths.map((p) => readFile(join(modelDir, p)))));
  const all = Buffer.concat(parts);
  const buffer = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  net.loadFromWeightMap(f.tf.io.decodeWeights(buffer, specs) as Record<string, TfTensor>);
  return net;
}

/** An integer crop of an image as an int32 HWC RGB tensor (gray images are expanded to RGB). */
function toTensor(tf: Tf, img: Image8, x0: number, y0: number, w: number, h: number): TfTensor {
  const out = new Int32Array(w * h * 3);
  const c = img.channels;
  for (let y = 0; y < h; y++) {
    let p = ((y0 + y) * img.width + x0) * c;
    let q = y * w * 3;
    for (let x = 0; x < w; x++, p += c, q += 3) {
      const r = img.data[p]!;
      out[q] = r;
      out[q + 1] = c === 3 ? img.data[p + 1]! : r;
      out[q + 2] = c === 3 ? img.data[p + 2]! : r;
    }
  }
  return tf.tensor3d(out, [h, w, 3], 'int32');
}

/** Loads the nets and returns a landmarker. Rejects if face-api, a backend or the weights cannot be loaded. */
export async function createFaceLandmarker(options: FaceLandmarkerOptions = {}): Promise<FaceLandmarker> {
  const opts = {
    detector: options.detector ?? 'tiny',
    inputSize: options.inputSize ?? 160,
    minScore: options.minScore ?? 0.5,
    landmarkNet: options.landmarkNet ?? 'full',
  } as const;
  if (!Number.isInteger(opts.inputSize) || opts.inputSize < 32 || opts.inputSize % 32 !== 0)
    throw new RangeError(`inputSize ${opts.inputSize} must be a positive multiple of 32`);
  if (!(opts.minScore >= 0 && opts.minScore <= 1))
    throw new RangeError(`minScore ${opts.minScore} not in [0, 1]`);
  const f = await loadFaceApi();
  const { api, tf } = f;
  const { backend, reason } = await ensureBackend(f, options.backend ?? 'auto');
  await tf.ready();
  const modelDir = options.modelDir ?? defaultModelDir();
  const detector =
    opts.detector === 'tiny'
      ? await loadNet(f, new api.TinyFaceDetector(), modelDir, 'tiny_face_detector_model')
      : await loadNet(f, new api.SsdMobilenetv1(), modelDir, 'ssd_mobilenetv1_model');
  const landmarkNet =
    opts.landmarkNet === 'full'
      ? await loadNet(f, new api.FaceLandmark68Net(), modelDir, 'face_landmark_68_model')
      : await loadNet(f, new api.FaceLandmark68TinyNet(), modelDir, 'face_landmark_68_tiny_model');
  const detectorOptions =
    opts.detector === 'tiny'
      ? new api.TinyFaceDetectorOptions({ inputSize: opts.inputSize, scoreThreshold: opts.minScore })
      : new api.SsdMobilenetv1Options({ minConfidence: opts.minScore, maxResults: 5 });

  const landmarksIn = async (
    img: Image8,
    face: Box,
    faceScore: number,
  ): Promise<FaceLandmarks68 | undefined> => {
    // Integer crop of the face box, clipped to the image (face-api's own extractFaceTensors does the same).
    const x0 = Math.max(0, Math.floor(face.x));
    const y0 = Math.max(0, Math.floor(face.y));
    const x1 = Math.min(img.width, Math.ceil(face.x + face.width));
    const y1 = Math.min(img.height, Math.ceil(face.y + face.height));
    if (!(x1 - x0 >= 8 && y1 - y0 >= 8)) return undefined;
    const t = toTensor(tf, img, x0, y0, x1 - x0, y1 - y0);
    try {
      const r = await landmarkNet.detectLandmarks(t);
      const lm = Array.isArray(r) ? r[0] : r;
      if (lm === undefined || lm.positions.length !== 68) return undefined;
      const points = lm.positions.map((p) => ({ x: p.x + x0, y: p.y + y0 }));
      if (!points.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y))) return undefined;
      return { face: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, faceScore, points };
    } finally {
      t.dispose();
    }
  };

  return {
    backend,
    backendReason: reason,
    options: opts,
    async detect(img) {
      assertImage(img);
      const t = toTensor(tf, img, 0, 0, img.width, img.height);
      let best: FaceApiDetection | undefined;
      try {
        for (const d of await detector.locateFaces(t, detectorOptions)) {
          if (Number.isFinite(d.score) && (best === undefined || d.score > best.score)) best = d;
        }
      } finally {
        t.dispose();
      }
      if (best === undefined) return undefined;
      const { x, y, width, height } = best.box;
      return landmarksIn(img, { x, y, width, height }, best.score);
    },
    landmarksIn(img, face) {
      assertImage(img);
      return landmarksIn(img, face, Number.NaN);
    },
    dispose() {
      detector.dispose();
      landmarkNet.dispose();
    },
  };
}
