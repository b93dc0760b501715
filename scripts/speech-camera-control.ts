/**
 * What the served model's camera input carries, by controls on the VALIDATION GRID clips (a diagnostic;
 * never the test split): the audio-visual mode with each clip's own mouth crops against the same mode with
 * crops that keep some of their content and lose the rest, beside the audio-only mode.
 *
 *   node --import tsx scripts/speech-camera-control.ts [--model FILE] [--data ../shared/data] [--snr 0,5]
 *     [--categories car-interior] [--dnsmos ../shared/peers/dnsmos]
 *
 * Controls (`cameraControl`), each on the clip's per-video-frame crops, timing unchanged:
 * - `own`: the crops as filmed (the served audio-visual mode);
 * - `still`: every crop replaced by the clip's first crop (the face, no movement);
 * - `reversed`: the clip's crops in reverse order (the face and its movements, at the wrong times);
 * - `other`: another validation clip's crops, frame by frame (another face, its movements at its own times).
 * If `reversed` or `other` scores like `own`, the branch does not use when the mouth moves; if `still` does,
 * it does not use movement at all.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { MouthTrack } from '../src/models/speech/corpus.ts';
import { Dnsmos } from '../src/models/speech/dnsmos.ts';
import { METRIC_KEYS } from '../src/models/speech/evaluate.ts';
import { DIAGNOSTIC_OPTIONS, openDiagnostic, printMeansTable } from './speech-diagnostic.ts';
import type { DiagnosticSystem } from './speech-diagnostic.ts';

export const CAMERA_CONTROLS = ['own', 'still', 'reversed', 'other'] as const;
export type CameraControl = (typeof CAMERA_CONTROLS)[number];

/** `track` under `control` (see the file comment); `other` needs another clip's track. */
export function cameraControl(track: MouthTrack, control: CameraControl, other?: MouthTrack): MouthTrack {
  const { count, frameSize } = track;
  if (control === 'own') return track;
  const data = new Float32Array(track.data.length);
  const ok = new Uint8Array(count);
  const copy = (to: number, src: MouthTrack, from: number): void => {
    if (src.ok[from] !== 1) return;
    data.set(src.data.subarray(from * frameSize, (from + 1) * frameSize), to * frameSize);
    ok[to] = 1;
  };
  if (control === 'still') {
    const first = track.ok.indexOf(1);
    if (first >= 0) for (let i = 0; i < count; i++) if (track.ok[i] === 1) copy(i, track, first);
  } else if (control === 'reversed') {
    for (let i = 0; i < count; i++) copy(i, track, count - 1 - i);
  } else {
    if (other === undefined || other.frameSize !== frameSize || other.count === 0)
      throw new Error('camera control "other": another clip with crops of the same size is needed');
    for (let i = 0; i < count; i++) copy(i, other, i % other.count);
  }
  return { ...track, data, ok };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { ...DIAGNOSTIC_OPTIONS, dnsmos: { type: 'string', default: '../shared/peers/dnsmos' } },
  });
  const { snrs, set, rnnoise, avdcnn } = await openDiagnostic(values, { video: true });
  const dnsmos = existsSync(values.dnsmos) ? await Dnsmos.load(values.dnsmos) : null;
  const clips = [...new Set(set.items.filter((i) => i.video?.track !== undefined).map((i) => i.utterance))];
  if (clips.length < 2)
    throw new Error(`camera controls need two GRID clips with crops, found ${clips.length}`);
  const trackOf = new Map<string, MouthTrack>();
  for (const i of set.items) if (i.video?.track !== undefined) trackOf.set(i.utterance, i.video.track);
  const keys = METRIC_KEYS.filter((k) => k !== 'p808' && k !== 'sig' && k !== 'bak');
  const systems: Record<string, DiagnosticSystem> = {
    noisy: (i) => Promise.resolve(i.noisy),
    rnnoise: (i) => Promise.resolve(rnnoise.process(i.noisy)),
    'audio-only': (i) => avdcnn.enhance(i.noisy),
  };
  for (const control of CAMERA_CONTROLS)
    systems[`camera: ${control}`] = (i) => {
      const track = i.video!.track!;
      const other = trackOf.get(clips[(clips.indexOf(i.utterance) + 1) % clips.length]!);
      return avdcnn.enhance(i.noisy, {
        aligned: i.video!.aligned,
        track: cameraControl(track, control, other),
      });
    };
  console.log(`validation GRID clips (${clips.join(', ')}), ${values.categories}; means over items`);
  await printMeansTable(
    snrs,
    (snr) => set.items.filter((i) => i.snrDb === snr && i.video?.track !== undefined),
    systems,
    keys,
    dnsmos,
    4,
  );
  await avdcnn.release();
  await dnsmos?.release();
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
