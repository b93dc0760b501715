/**
 * Simulated vehicle and context streams for a drive, from the project's drive simulator (devices/), as the
 * messages a car would publish: CAN batches (through the vehicle profile's DBC) and weather observations.
 *
 * Honesty rule: a track is generated from a scene schedule. For training, the schedule may follow a
 * *training* drive's labelled segments (low → rest parked, medium → highway, high → city), so the vehicle
 * and context branches learn something; a score that uses such inputs is a simulation study, and a drive
 * being evaluated never gets a track generated from its own labels. Weather is independent of the scenes.
 */
import {
  simulateDrive,
  simulatedCanFrames,
  simulateWeather,
  weatherMessage,
} from '../../../devices/drive-simulator.ts';
import type { SceneSpec, SceneType } from '../../../devices/drive-simulator.ts';
import type { CanBatch, SensorMessage } from '../../streams/contracts/messages.ts';
import { decodeWeather, encodeWeather } from '../../streams/contracts/weather.ts';
import type { CanProfileResources } from '../../streams/features/driving-extractor.ts';
import type { LabelledSegment, StressLevel, StressRecord } from './records.ts';
import { SeededRandom } from '../common/rng.ts';
import { REPLAY_T0_US } from './replay.ts';

export const SCENE_OF_LEVEL: Readonly<Record<StressLevel, SceneType>> = {
  low: 'rest',
  medium: 'highway',
  high: 'city',
};

/** Scene schedule covering [0, durationS): the segments' scenes, rest before and after them. */
export function scenesFromSegments(segments: readonly LabelledSegment[], durationS: number): SceneSpec[] {
  const out: SceneSpec[] = [];
  let t = 0;
  for (const s of segments) {
    if (s.startS > t + 1) out.push({ scene: 'rest', durationS: s.startS - t });
    out.push({ scene: SCENE_OF_LEVEL[s.level], durationS: s.endS - Math.max(t, s.startS) });
    t = s.endS;
  }
  if (durationS > t + 1) out.push({ scene: 'rest', durationS: durationS - t });
  return out.filter((s) => s.durationS > 0);
}

/**
 * A message source for replay (`extra` of replayInputs): CAN batches and weather of a simulated drive whose
 * second 0 is the record's second 0. Calls must ask for consecutive spans in time order.
 */
export function simulatedTrack(
  scenes: readonly SceneSpec[],
  seed: number,
  canProfile: CanProfileResources,
  t0Us = REPLAY_T0_US,
): (fromS: number, toS: number) => SensorMessage[] {
  const drive = simulateDrive({ scenes, seed, startUs: t0Us });
  const frames = simulatedCanFrames(drive, canProfile);
  const weather = simulateWeather(seed, drive.startUs, drive.endUs).map((w, i) => {
    const bytes = encodeWeather(weatherMessage(w, seed, i));
    return { ...decodeWeather(bytes), bytes: bytes.byteLength, sessionId: seed, seq: i };
  });
  let fi = 0;
  let wi = 0;
  let seq = 0;
  return (fromS, toS) => {
    const toUs = t0Us + toS * 1e6;
    const out: SensorMessage[] = [];
    while (wi < weather.length && weather[wi]!.tUs < toUs) out.push(weather[wi++]!);
    const start = fi;
    while (fi < frames.length && frames[fi]!.tUs < toUs) fi++;
    if (fi > start) {
      const batch = frames.slice(start, fi);
      const m: CanBatch = {
        kind: 'can',
        sessionId: seed,
        seq: seq++,
        tUs: Math.round(t0Us + fromS * 1e6),
        endUs: Math.round(toUs),
        bytes: batch.length * 16,
        frames: batch,
      };
      out.push(m);
    }
    return out;
  };
}

/** A labelled drive with no physiology (vehicle/context come from `extra`). */
export function emptyRecord(
  name: string,
  segments: readonly LabelledSegment[],
  durationS: number,
): StressRecord {
  return {
    name,
    format: 'rdsamp-csv',
    baseTime: undefined,
    baseDate: undefined,
    durationS,
    hr: { tS: new Float64Array(0), bpm: new Float64Array(0), source: 'device' },
    footGsr: undefined,
    handGsr: undefined,
    resp: undefined,
    marker: undefined,
    segments,
    hrNote: 'simulated: no physiology',
  };
}

/** A drivedb-like protocol in a seeded order: initial rest, then city/highway blocks, final rest. */
export function simulatedProtocol(seed: number): LabelledSegment[] {
  const rng = new SeededRandom(seed);
  const blocks: StressLevel[] = ['high', 'medium', 'high', 'medium', 'high'];
  for (let i = blocks.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [blocks[i], blocks[j]] = [blocks[j]!, blocks[i]!];
  }
  const levels: StressLevel[] = ['low', ...blocks, 'low'];
  const out: LabelledSegment[] = [];
  let t = 0;
  levels.forEach((level, i) => {
    const d = Math.round(level === 'low' ? 600 + rng.next() * 300 : 360 + rng.next() * 600);
    out.push({ name: `${level} ${i + 1}`, level, startS: t, endS: t + d });
    t += d;
  });
  return out;
}
