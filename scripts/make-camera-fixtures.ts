/**
 * Writes the camera test fixtures in test/fixtures/camera/ from the GRID clip s1_bbaf2n in ../shared/data
 * (needs ffmpeg, at fixture-build and test time only). Run: node --import tsx scripts/make-camera-fixtures.ts
 *
 * - `s1_bbaf2n-f001.jpg`, `-f038.jpg`, `-f075.jpg`: frames 1, 38 and 75 of the clip (ffmpeg's MPEG-1 decode,
 *   re-encoded as JPEG at -q:v 2), so the landmark tests run without ../shared.
 * - `s1_bbaf2n-mouth-ref.json`: where each of the 75 reference mouth crops (`s1_bbaf2n_mouth_crops/`, 100×50
 *   PNG, no coordinates given) lies in its frame, found by template matching (`referenceMouthBoxes`).
 *
 * The exported helpers are shared with the acceptance test (test/features/camera-grid.test.ts), so the
 * reference boxes are built the same way in both places.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toGrayF32 } from '../src/streams/features/camera/image.ts';
import type { Image8 } from '../src/streams/features/camera/image.ts';
import type { Box } from '../src/streams/features/camera/roi.ts';
import { locateTemplateSequence } from '../src/streams/features/camera/template-match.ts';

export const GRID_CLIP = 'av/grid/s1_bbaf2n.mpg';
export const GRID_CROPS = 'av/grid/s1_bbaf2n_mouth_crops/mouth_image%03d.png';
export const GRID_FRAME = { width: 360, height: 288 } as const;
export const GRID_CROP = { width: 100, height: 50 } as const;
export const FIXTURE_FRAMES = [1, 38, 75] as const;

/** True when an `ffmpeg` executable runs. */
export function hasFfmpeg(): boolean {
  try {
    execFileSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Decodes every frame of `input` (a video, or an image sequence pattern such as `x%03d.png`) with ffmpeg to
 * rgb24 Image8s of the given size (ffmpeg's default RGB conversion; no scaling: a size mismatch throws).
 */
export function ffmpegFrames(input: string, width: number, height: number): Image8[] {
  const buf = execFileSync(
    'ffmpeg',
    ['-hide_banner', '-v', 'error', '-i', input, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: 1 << 30 },
  );
  const size = width * height * 3;
  if (buf.length === 0 || buf.length % size !== 0)
    throw new Error(
      `${input}: ${buf.length} bytes of rgb24 is not a whole number of ${width}x${height} frames`,
    );
  return Array.from({ length: buf.length / size }, (_, i) => ({
    width,
    height,
    channels: 3 as const,
    data: new Uint8Array(buf.buffer, buf.byteOffset + i * size, size),
  }));
}

export interface ReferenceBox {
  /** 1-based frame number (= crop number). */
  readonly frame: number;
  readonly box: Box;
  /** Frame pixels per crop pixel. */
  readonly scale: number;
  /** NCC of the crop against the frame at `box`. */
  readonly score: number;
}

/**
 * The reference mouth boxes: each crop located in its frame by normalised cross-correlation on luma
 * (`locateTemplateSequence`): positions searched over the whole frame; scales 0.5–2.0 (2 % steps) for the first
 * crop, then ±4 % around the previous crop's scale; coarse search at half resolution, refined at full resolution
 * (±4 px, ±3 % scale by 0.5 %, sub-pixel peak). Throws if a crop is not found.
 */
export function referenceMouthBoxes(frames: readonly Image8[], crops: readonly Image8[]): ReferenceBox[] {
  const found = locateTemplateSequence(frames.map(toGrayF32), crops.map(toGrayF32));
  return found.map((r, i) => {
    if (r === undefined) throw new Error(`reference crop ${i + 1} not found in its frame`);
    return { frame: i + 1, box: r.box, scale: r.scale, score: r.score };
  });
}

/** Encodes an rgb24 frame as JPEG with ffmpeg (quality -q:v 2). */
function ffmpegJpeg(img: Image8): Buffer {
  return execFileSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-v',
      'error',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${img.width}x${img.height}`,
      '-i',
      '-',
      '-frames:v',
      '1',
      '-c:v',
      'mjpeg',
      '-q:v',
      '2',
      '-f',
      'image2pipe',
      '-',
    ],
    { input: img.data },
  );
}

const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;

function main(): void {
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
  const shared = resolve(process.env['DRIVESENSE_SHARED_DATA'] ?? resolve(root, '../shared/data'));
  const out = join(root, 'test/fixtures/camera');
  mkdirSync(out, { recursive: true });
  const frames = ffmpegFrames(join(shared, GRID_CLIP), GRID_FRAME.width, GRID_FRAME.height);
  const crops = ffmpegFrames(join(shared, GRID_CROPS), GRID_CROP.width, GRID_CROP.height);
  if (frames.length !== 75 || crops.length !== 75)
    throw new Error(`expected 75 frames and 75 crops, got ${frames.length} and ${crops.length}`);
  const refs = referenceMouthBoxes(frames, crops);
  const worst = Math.min(...refs.map((r) => r.score));
  if (worst < 0.99) throw new Error(`a reference crop matches its frame with NCC ${worst} < 0.99`);
  writeFileSync(
    join(out, 's1_bbaf2n-mouth-ref.json'),
    JSON.stringify(
      {
        source: `GRID corpus s1 bbaf2n (../shared/data/${GRID_CLIP}; crops ${GRID_CROPS})`,
        method:
          'crop located in its frame by NCC on BT.601 luma: whole-frame position search, scales 0.5-2.0 (first ' +
          'crop) then +/-4% of the previous scale; coarse at 1/2 resolution, refined at full resolution with a ' +
          'sub-pixel peak. Box: frame pixels, top-left origin, [x, x+width) x [y, y+height).',
        frames: refs.map((r) => ({
          frame: r.frame,
          box: { x: round(r.box.x), y: round(r.box.y), width: r.box.width, height: r.box.height },
          scale: round(r.scale, 4),
          score: round(r.score, 5),
        })),
      },
      null,
      2,
    ) + '\n',
  );
  for (const n of FIXTURE_FRAMES) {
    const name = `s1_bbaf2n-f${String(n).padStart(3, '0')}.jpg`;
    const jpg = ffmpegJpeg(frames[n - 1]!);
    writeFileSync(join(out, name), jpg);
    console.log(`${name}: ${jpg.length} bytes`);
  }
  const scales = refs.map((r) => r.scale);
  console.log(
    `s1_bbaf2n-mouth-ref.json: 75 boxes, scale ${Math.min(...scales)}–${Math.max(...scales)}, min NCC ${worst.toFixed(5)}`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
