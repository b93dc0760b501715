import type { PhysioChannelKind } from '../src/streams/contracts/messages.ts';
import { loadDrive } from '../src/streams/readers/sample-drive.ts';
import type { DriveTracks } from './drive-player.ts';

/**
 * Loads a drive directory (devices/sample-drive layout) into the player's tracks. The camera clip is
 * shorter than the drive (3 s of a GRID talking face): it is looped over the whole drive, as a live camera
 * would run, at the clip's frame rate.
 */
export interface LoadedDrive {
  readonly name: string;
  readonly vehicleId: string;
  readonly startUs: number;
  readonly endUs: number;
  readonly tracks: DriveTracks;
}

/** `can1` → 1 (the wire's bus number, which profiles name `can{N}`); other names by their order in the log. */
function busNumber(name: string, buses: readonly string[]): number {
  const m = /^[a-z]*?(\d+)$/i.exec(name);
  return m ? Number(m[1]) : Math.max(0, buses.indexOf(name));
}

export async function loadDriveTracks(dir: string, loopCamera = true): Promise<LoadedDrive> {
  const d = await loadDrive(dir);
  const buses = d.can?.buses ?? [];
  const cameraFrames: { tUs: number; jpeg: Uint8Array }[] = [];
  if (d.camera && d.camera.frames.length > 0) {
    const cam = d.camera;
    const n = cam.frames.length;
    const periodUs = 1e6 / cam.fps;
    // Frame k of the looped camera is at cam.tUs + k·period and shows clip frame k mod n, so the clip's own
    // frames keep their recorded times (lip-synchronous with the cabin audio) and the loop fills the rest.
    const kFrom = loopCamera ? Math.ceil((d.startUs - cam.tUs) / periodUs) : 0;
    const kTo = loopCamera ? Math.ceil((d.endUs - cam.tUs) / periodUs) : n;
    for (let k = kFrom; k < kTo; k++) {
      const frame = cam.frames[((k % n) + n) % n];
      if (frame !== undefined)
        cameraFrames.push({ tUs: Math.round(cam.tUs + k * periodUs), jpeg: frame.jpeg });
    }
  }
  return {
    name: d.name,
    vehicleId: d.vehicleId,
    startUs: d.startUs,
    endUs: d.endUs,
    tracks: {
      ...(d.ecg
        ? {
            ecg: {
              startUs: d.ecg.tUs,
              channels: d.ecg.channels.map((c) => ({
                kind: (c.kind === 'other' ? 'other' : c.kind) as PhysioChannelKind,
                rateHz: c.rateHz,
                samples: c.samples,
                scale: 1 / c.gain,
              })),
            },
          }
        : {}),
      ...(d.can
        ? {
            can: {
              frames: d.can.frames.map((f) => ({
                tUs: f.tUs,
                id: f.id,
                extended: f.extended,
                rtr: f.rtr,
                fd: f.fd,
                errorFrame: f.errorFrame,
                bus: busNumber(f.bus, buses),
                data: f.data,
              })),
            },
          }
        : {}),
      ...(d.weather
        ? { weather: { observation: d.weather.response, startUs: d.startUs, endUs: d.endUs } }
        : {}),
      ...(d.audio
        ? { audio: { startUs: d.audio.tUs, sampleRateHz: d.audio.sampleRateHz, samples: d.audio.samples } }
        : {}),
      ...(cameraFrames.length > 0 ? { camera: { frames: cameraFrames } } : {}),
    },
  };
}

/**
 * The drive played `times` times back to back on one clock (loop k shifted by k × the drive's length), so a
 * short sample drive can run long enough for slow consumers (the stress model calibrates for a minute and
 * looks back 110 s). Sample tracks are concatenated (a recording's end meets its start: one discontinuity
 * per loop, as a sensor re-seated), frames and CAN shifted, the weather observation held.
 */
export function loopDrive(d: LoadedDrive, times: number): LoadedDrive {
  if (!Number.isInteger(times) || times < 1)
    throw new RangeError(`loops must be a whole number ≥ 1, got ${times}`);
  if (times === 1) return d;
  const spanUs = d.endUs - d.startUs;
  const repeat = (x: Float32Array) => {
    const out = new Float32Array(x.length * times);
    for (let k = 0; k < times; k++) out.set(x, k * x.length);
    return out;
  };
  const shifted = <T extends { readonly tUs: number }>(xs: readonly T[]): T[] =>
    Array.from({ length: times }, (_, k) => xs.map((x) => ({ ...x, tUs: x.tUs + k * spanUs }))).flat();
  const t = d.tracks;
  return {
    ...d,
    endUs: d.startUs + times * spanUs,
    tracks: {
      ...(t.ecg
        ? { ecg: { ...t.ecg, channels: t.ecg.channels.map((c) => ({ ...c, samples: repeat(c.samples) })) } }
        : {}),
      ...(t.can ? { can: { frames: shifted(t.can.frames) } } : {}),
      ...(t.weather
        ? {
            weather: {
              ...t.weather,
              endUs: t.weather.startUs + times * (t.weather.endUs - t.weather.startUs),
            },
          }
        : {}),
      ...(t.audio ? { audio: { ...t.audio, samples: repeat(t.audio.samples) } } : {}),
      ...(t.camera ? { camera: { frames: shifted(t.camera.frames) } } : {}),
    },
  };
}
