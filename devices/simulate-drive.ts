/**
 * Simulated drive CLI (usable on its own; the pure core is drive-simulator.ts, documented in
 * README-simulator.md).
 *
 *   npx tsx devices/simulate-drive.ts --scenes rest:300,city:600,highway:900 --seed 1 \
 *       [--candump OUT.log] [--csv OUT.csv] [--weather OUT.json] \
 *       [--rate 10] [--start 2026-01-15T07:30:00Z] [--profile devices/profiles/toyota-rav4-2018.json]
 *
 *   --scenes   scene:seconds,… with scene rest | highway | city (required)
 *   --seed     integer seed (default 1): the same seed and scenes give the same files
 *   --candump  CAN frames of the profile's car as a `candump -l` log: `(seconds.micro) can0 ID#DATA`,
 *              readable by src/streams/readers/candump.ts
 *   --csv      the signals at --rate Hz: t_us, scene, speed_mps, steering_deg, steering_rate_deg_s,
 *              throttle_pct, brake, gear (DBC code: 0 D, 32 P)
 *   --weather  the Open-Meteo-shaped observation at the drive's start (devices/sample-drive/weather.json
 *              shape); with --weather-all, all observations (one per 15 min) as a JSON array of {tUs, response}
 *   --start    first sample time, ISO 8601 or µs since the epoch (default 2026-01-15T07:30:00Z, fixed so
 *              runs are reproducible)
 * Prints a one-line summary. Exit code 2 on bad arguments.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatCandumpLine } from '../src/streams/readers/candump.ts';
import { loadCanProfile } from '../src/streams/features/can/load.ts';
import type { SceneSpec, SceneType } from './drive-simulator.ts';
import { SCENE_TYPES, driveStats, simulateDrive, simulatedCanFrames } from './drive-simulator.ts';

const DEFAULT_PROFILE = new URL('./profiles/toyota-rav4-2018.json', import.meta.url).pathname;

function usageError(message: string): never {
  console.error(
    `simulate-drive: ${message}\nusage: npx tsx devices/simulate-drive.ts --scenes rest:300,city:600 --seed 1 [--candump F] [--csv F] [--weather F]`,
  );
  process.exit(2);
}

function parseScenes(text: string): SceneSpec[] {
  return text.split(',').map((part) => {
    const m = /^\s*([a-z]+):(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (m === null || !(SCENE_TYPES as readonly string[]).includes(m[1]!) || Number(m[2]) <= 0)
      usageError(`bad scene "${part}" (expected ${SCENE_TYPES.join('|')}:seconds)`);
    return { scene: m[1] as SceneType, durationS: Number(m[2]) };
  });
}

function parseStart(text: string): number {
  const us = /^\d+$/.test(text) ? Number(text) : Date.parse(text) * 1000;
  if (!Number.isSafeInteger(us) || us < 0) usageError(`bad --start "${text}"`);
  return us;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenes: { type: 'string' },
      seed: { type: 'string', default: '1' },
      rate: { type: 'string', default: '10' },
      start: { type: 'string', default: '2026-01-15T07:30:00Z' },
      profile: { type: 'string', default: DEFAULT_PROFILE },
      candump: { type: 'string' },
      csv: { type: 'string' },
      weather: { type: 'string' },
      'weather-all': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.scenes === undefined) usageError('--scenes is required');
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) usageError(`bad --seed "${values.seed}"`);
  const rateHz = Number(values.rate);
  if (!(rateHz > 0 && rateHz <= 1000)) usageError(`bad --rate "${values.rate}"`);
  const scenes = parseScenes(values.scenes);
  const drive = simulateDrive({ scenes, seed, rateHz, startUs: parseStart(values.start) });

  const written: string[] = [];
  let frameCount = 0;
  if (values.candump !== undefined) {
    const frames = simulatedCanFrames(drive, await loadCanProfile(values.profile));
    frameCount = frames.length;
    const lines = frames.map((f) =>
      formatCandumpLine({ tUs: f.tUs, bus: `can${f.bus}`, id: f.id, extended: f.extended, data: f.data }),
    );
    await writeFile(values.candump, `${lines.join('\n')}\n`);
    written.push(values.candump);
  }
  if (values.csv !== undefined) {
    const rows = ['t_us,scene,speed_mps,steering_deg,steering_rate_deg_s,throttle_pct,brake,gear'];
    for (let i = 0; i < drive.tUs.length; i++)
      rows.push(
        [
          drive.tUs[i],
          drive.scenes[drive.sceneIndex[i]!]!.scene,
          drive.speedMps[i]!.toFixed(4),
          drive.steeringDeg[i]!.toFixed(3),
          drive.steeringRateDegS[i]!.toFixed(3),
          drive.throttlePct[i]!.toFixed(2),
          drive.brake[i],
          drive.gear[i],
        ].join(','),
      );
    await writeFile(values.csv, `${rows.join('\n')}\n`);
    written.push(values.csv);
  }
  if (values.weather !== undefined) {
    const json = values['weather-all'] ? drive.context : drive.context[0]!.response;
    await writeFile(values.weather, `${JSON.stringify(json, null, 2)}\n`);
    written.push(values.weather);
  }

  const s = driveStats(drive);
  const w = drive.context[0]!.response.current;
  console.log(
    `simulated ${scenes.map((x) => `${x.scene}:${x.durationS}`).join(',')} seed ${seed}: ` +
      `${drive.tUs.length} samples @ ${rateHz} Hz, mean ${s.meanSpeedMps.toFixed(1)} m/s, ` +
      `max ${s.maxSpeedMps.toFixed(1)} m/s, ${s.stops} stops, ${frameCount} CAN frames; weather ` +
      `${String(w['temperature_2m'])} °C code ${String(w['weather_code'])} at ${String(w['time'])} local` +
      (written.length > 0 ? ` → ${written.join(', ')}` : ''),
  );
}

await main();
