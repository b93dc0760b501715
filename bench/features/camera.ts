/**
 * Camera feature benchmark, one core: camera frames/s through decode + mouth ROI + resize to the 16×24 RGB
 * model input, on the 75 committed sample-drive frames (GRID s2, 360×288 JPEG), compared with a 30 fps camera.
 *
 * Rows (each: wall-clock frames/s, frames/s per CPU-second of this process, ×real time = frames/s ÷ 30):
 * - JPEG decode alone (jpeg-js) at 360×288, and at 640×480 and 1280×720 (upscaled sample frames), and
 *   ROI + resize alone on decoded frames;
 * - decode + fixed ROI + resize (a fixed in-car camera);
 * - raw rgb24 frames + fixed ROI + resize (a camera adapter that sends raw pixels: no decode);
 * - decode + landmark ROI (face detector + 68-point net on every frame) + resize;
 * - the same with detection every 5 / 10 / 30 frames and NCC tracking in between, and every 10 on raw frames;
 * - the landmarker alone (detector + landmarks per call).
 * JS and the TF.js wasm backend both run on the calling thread (TF.js does not enable wasm threads in Node),
 * so "one core" is this process; `npm run bench` pins it to CPU 0. Every scenario runs one warm-up pass.
 * Alone: node --import tsx bench/features/camera.ts
 */
import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decodeJpeg } from '../../src/streams/features/camera/decode.ts';
import type { Image8 } from '../../src/streams/features/camera/image.ts';
import { createFaceLandmarker } from '../../src/streams/features/camera/landmarks.ts';
import { MouthExtractor } from '../../src/streams/features/camera/mouth-extractor.ts';
import type {
  MouthExtractorOptions,
  MouthFrameInput,
} from '../../src/streams/features/camera/mouth-extractor.ts';
import { cropResize } from '../../src/streams/features/camera/resize.ts';

const REALTIME_FPS = 30;
const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const FIXED = { kind: 'fixed', region: { x: 110, y: 180, width: 120, height: 80, units: 'px' } } as const;

interface Row {
  what: string;
  frames: number;
  framesPerS: number;
  framesPerCpuS: number;
  msPerFrame: number;
  xRealTime: number;
}

/** Runs `fn` over `n` frames after one warm-up pass of `warm` frames; wall and CPU time. */
async function measure(what: string, n: number, warm: number, fn: (i: number) => unknown): Promise<Row> {
  for (let i = 0; i < warm; i++) await fn(i);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const round = (v: number, d = 1): number => Math.round(v * 10 ** d) / 10 ** d;
  return {
    what,
    frames: n,
    framesPerS: round(n / wallS),
    framesPerCpuS: round(n / cpuS),
    msPerFrame: round((1000 * wallS) / n, 2),
    xRealTime: round(n / wallS / REALTIME_FPS, 2),
  };
}

/**
 * Larger JPEGs for the decode rows: sample frames upscaled (bilinear) and re-encoded at quality 85 by jpeg-js.
 * Smoother than a real camera picture, so they decode a little faster than real frames of that size would.
 */
function upscaledJpegs(frames: readonly Image8[], w: number, h: number): Uint8Array[] {
  return frames.map((img) => {
    const rgb = cropResize(img, { x: 0, y: 0, width: img.width, height: img.height }, w, h);
    const rgba = new Uint8Array(w * h * 4);
    for (let p = 0; p < w * h; p++) {
      for (let c = 0; c < 3; c++) rgba[p * 4 + c] = Math.round(rgb[p * 3 + c]! * 255);
      rgba[p * 4 + 3] = 255;
    }
    return new Uint8Array(jpeg.encode({ width: w, height: h, data: rgba }, 85).data);
  });
}

export async function benchCamera(): Promise<Record<string, unknown>> {
  const jpegs = Array.from(
    { length: 75 },
    (_, i) =>
      new Uint8Array(
        readFileSync(resolve(ROOT, `devices/sample-drive/camera/${String(i + 1).padStart(6, '0')}.jpg`)),
      ),
  );
  const decoded: Image8[] = jpegs.map((j) => decodeJpeg(j));
  const frameUs = 1e6 / REALTIME_FPS;
  let tUs = 1_768_446_030_000_000;
  const jpegFrame = (i: number): MouthFrameInput => ({
    tUs: (tUs += frameUs),
    pixelFormat: 'jpeg',
    width: 360,
    height: 288,
    data: jpegs[i % 75]!,
  });
  const rawFrame = (i: number): MouthFrameInput => {
    const img = decoded[i % 75]!;
    return {
      tUs: (tUs += frameUs),
      pixelFormat: 'rgb24',
      width: img.width,
      height: img.height,
      data: img.data,
    };
  };
  const through = (options: MouthExtractorOptions, frame: (i: number) => MouthFrameInput) => {
    const ex = new MouthExtractor(options);
    return async (i: number): Promise<void> => {
      const f = await ex.process(frame(i));
      if (f.status !== 'ok') throw new Error(`bench frame ${i} dropped: ${f.message}`);
    };
  };

  const rows: Row[] = [];
  rows.push(await measure('JPEG decode 360×288 (jpeg-js)', 300, 75, (i) => decodeJpeg(jpegs[i % 75]!)));
  for (const [w, h] of [
    [640, 480],
    [1280, 720],
  ] as const) {
    const big = upscaledJpegs(decoded.slice(0, 10), w, h);
    rows.push(
      await measure(`JPEG decode ${w}×${h} (jpeg-js, upscaled frames)`, 30, 10, (i) =>
        decodeJpeg(big[i % 10]!),
      ),
    );
  }
  rows.push(
    await measure('fixed ROI + resize (decoded frames)', 3000, 300, (i) =>
      cropResize(decoded[i % 75]!, FIXED.region, 24, 16),
    ),
  );
  rows.push(await measure('decode + fixed ROI + resize', 300, 75, through({ roi: FIXED }, jpegFrame)));
  rows.push(await measure('raw rgb24 + fixed ROI + resize', 3000, 300, through({ roi: FIXED }, rawFrame)));

  const lm = await createFaceLandmarker();
  try {
    rows.push(
      await measure('landmarker alone (detector + 68 points)', 75, 10, (i) => lm.detect(decoded[i % 75]!)),
    );
    for (const n of [1, 5, 10, 30]) {
      const label =
        n === 1
          ? 'decode + landmark ROI (detect every frame) + resize'
          : `decode + landmark ROI (detect every ${n}, track between) + resize`;
      const frames = n === 1 ? 75 : 300;
      rows.push(
        await measure(
          label,
          frames,
          30,
          through({ roi: { kind: 'landmarks', landmarker: lm, tracker: { detectEveryN: n } } }, jpegFrame),
        ),
      );
    }
    rows.push(
      await measure(
        'raw rgb24 + landmark ROI (detect every 10, track between) + resize',
        300,
        30,
        through({ roi: { kind: 'landmarks', landmarker: lm, tracker: { detectEveryN: 10 } } }, rawFrame),
      ),
    );
    return {
      name: 'camera',
      data: 'devices/sample-drive/camera: 75 GRID frames, 360×288 JPEG (~6.5 KB each)',
      cpu: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      realTimeFps: REALTIME_FPS,
      output: '16×24 RGB (height × width), Float32 in [0, 1], hwc',
      landmarker: { backend: lm.backend, reason: lm.backendReason, ...lm.options },
      rows,
    };
  } finally {
    lm.dispose();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const r = await benchCamera();
  console.log(JSON.stringify(r, null, 2));
}
