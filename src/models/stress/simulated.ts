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
import type { LabelledSegment, StressLevel } from './records.ts';
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
