/**
 * Drive simulator: plausible vehicle signals (speed, steering, pedals, gear) and a weather context for a
 * sequence of scenes, plus the CAN frames a 2018 Toyota RAV4 would put on its bus for them. Pure and
 * deterministic: the same options give the same drive, bit for bit. Used to train the vehicle and context
 * branches of the driver-stress model (drivedb has no CAN data); the CLI is devices/simulate-drive.ts.
 *
 * HONESTY RULES (what the signals may carry)
 *   - The vehicle signals depend ONLY on the scene list and the seed. No stress label, subject or
 *     physiological input exists anywhere in this module's API, so a model trained on them can learn the
 *     scene, never a label leaked through the simulator.
 *   - The weather/context is drawn from its OWN random stream, seeded from `seed` alone (plus the drive's
 *     start time and total duration for the observation times); `simulateWeather` does not even receive the
 *     scene list. So for one seed the weather is identical whatever the scenes are: it carries no scene
 *     information, and any association between context and stress in a training set must come from the
 *     real labels, not from here. Time of day (local hour via a random UTC offset/longitude), temperature,
 *     precipitation, cloud cover, wind and visibility are all random per drive.
 *
 * Scenes
 *   rest     parked, engine on: speed 0, gear P, pedals released, small steering noise (hands on the wheel).
 *   highway  steady 25–33 m/s with a slow drift of the set speed, lane-keeping corrections of a few degrees,
 *            gentle curves and rare lane changes, throttle ~15–30 %, rare braking for traffic slow-downs.
 *   city     stop-and-go: accelerate to 8–14 m/s, cruise with traffic ease-offs (throttle/brake
 *            alternation), brake to a stop at lights (held 5–40 s), turns of 90–450° of steering-wheel
 *            angle at low speed (speed chosen so lateral acceleration stays ≤ 3 m/s²).
 * Transitions are driven, not cut: a moving scene followed by `rest` brakes to a standstill before it ends,
 * `rest` then selects P; a moving scene after `rest` holds the brake, selects D and pulls away; entering
 * `highway` accelerates up to speed, entering `city` from the highway brakes down.
 *
 * Physics and time
 *   Samples at `rateHz` (default 10 Hz); sample k is at tUs[k] = startUs + round(k · 1e6 / rateHz) (µs since
 *   the epoch). The acceleration chosen at sample k holds over [t_k, t_k+1): speed[k+1] = max(0, speed[k] +
 *   a·dt), with |a| ≤ 3 m/s² and a jerk limit, so |Δspeed/dt| ≤ 3 m/s². Pedals follow from the acceleration
 *   and a road-load model (rolling + aero + engine braking); brake and throttle are never both applied.
 *   steeringRateDegS is the central difference of steeringDeg (one-sided at the ends), so the two agree.
 *   Gear uses the RAV4 DBC codes (GEAR_PACKET.GEAR): 0 = D, 32 = P.
 */
import { SeededRandom } from '../src/models/common/rng.ts';
import type { CanFrame } from '../src/streams/contracts/messages.ts';
import type { WeatherMessage } from '../src/streams/contracts/weather.ts';
import type { CanProfileResources } from '../src/streams/features/driving-extractor.ts';
import type { DbcMessage, DbcSignal } from '../src/streams/features/can/dbc.ts';
import { encodeMessage } from '../src/streams/features/can/encoder.ts';
import type { DrivingRole, ResolvedProfileSignal } from '../src/streams/features/can/profile.ts';
import { DRIVING_ROLES, resolveProfileSignal } from '../src/streams/features/can/profile.ts';
import { solarElevationDeg } from '../src/streams/features/weather.ts';

export const SCENE_TYPES = ['rest', 'highway', 'city'] as const;
export type SceneType = (typeof SCENE_TYPES)[number];

export interface SceneSpec {
  readonly scene: SceneType;
  readonly durationS: number;
}

export interface SimulateDriveOptions {
  readonly scenes: readonly SceneSpec[];
  /** Integer seed (taken as uint32). */
  readonly seed: number;
  /** Signal sample rate (default 10 Hz). */
  readonly rateHz?: number;
  /** Time of the first sample, µs since the epoch. */
  readonly startUs: number;
}

/** DBC gear codes (RAV4 GEAR_PACKET.GEAR value table). */
export const GEAR_D = 0;
export const GEAR_P = 32;

/** An Open-Meteo `/v1/forecast?current=…` response (devices/sample-drive/weather.json shape), metric units. */
export interface WeatherResponse {
  readonly latitude: number;
  readonly longitude: number;
  readonly elevation: number;
  readonly utc_offset_seconds: number;
  readonly timezone: string;
  readonly timezone_abbreviation: string;
  readonly current_units: Readonly<Record<string, string>>;
  readonly current: Readonly<Record<string, number | string>>;
}

export interface SimulatedWeather {
  /** Event time of the observation (µs since the epoch); `current.time` is the local 15-min slot holding it. */
  readonly tUs: number;
  readonly response: WeatherResponse;
}

export interface SimulatedDrive {
  readonly seed: number;
  readonly rateHz: number;
  readonly startUs: number;
  /** Exclusive end: startUs + samples · 1e6 / rateHz. */
  readonly endUs: number;
  readonly scenes: readonly SceneSpec[];
  readonly tUs: Float64Array;
  readonly speedMps: Float64Array;
  /** Acceleration applied over [t_k, t_k+1) (m/s²). */
  readonly accelMps2: Float64Array;
  /** Steering-wheel angle, positive = left (deg). */
  readonly steeringDeg: Float64Array;
  readonly steeringRateDegS: Float64Array;
  /** Accelerator pedal 0..100 %. */
  readonly throttlePct: Float64Array;
  /** Brake pedal pressed: 0 or 1. */
  readonly brake: Uint8Array;
  /** DBC gear code: GEAR_D or GEAR_P. */
  readonly gear: Uint8Array;
  /** Index into `scenes` per sample. */
  readonly sceneIndex: Uint16Array;
  /** One weather observation per started 15 min of the drive (at least one), from `simulateWeather`. */
  readonly context: readonly SimulatedWeather[];
}

// ---------------------------------------------------------------------------------------------------------
// Vehicle model constants
// ---------------------------------------------------------------------------------------------------------

const WHEELBASE_M = 2.66;
const STEERING_RATIO = 15.5;
const MAX_STEER_DEG = 480; // lock
const MAX_STEER_RATE_DEGS = 600; // what a hand can do
const STEER_LAG_S = 0.2; // first-order lag of the wheel behind the driver's intent
const JERK_MPS3 = 3;
/** Deceleration for the stop at the end of a scene followed by `rest`, and the time kept in hand. */
const END_STOP_DECEL = 2;
const END_STOP_MARGIN_S = 5;
/** Road load as a deceleration (rolling, aero, engine braking), m/s². */
const roadLoad = (vMps: number): number => (vMps > 0.1 ? 0.12 + 0.0004 * vMps * vMps : 0);

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** Ornstein–Uhlenbeck step: mean-reverting noise with stationary std `sigma` and time constant `tauS`. */
function ou(x: number, sigma: number, tauS: number, dt: number, rng: SeededRandom): number {
  return x - (x / tauS) * dt + sigma * Math.sqrt((2 * dt) / tauS) * rng.normal();
}

/** Steering-wheel angle over a turn: ramp in (raised cosine), hold, unwind. undefined once finished. */
interface TurnProfile {
  readonly amplitudeDeg: number;
  readonly rampS: number;
  readonly holdS: number;
  readonly unwindS: number;
}

function turnAngle(p: TurnProfile, t: number): number | undefined {
  if (t < 0) return 0;
  if (t < p.rampS) return (p.amplitudeDeg * (1 - Math.cos((Math.PI * t) / p.rampS))) / 2;
  if (t < p.rampS + p.holdS) return p.amplitudeDeg;
  const u = t - p.rampS - p.holdS;
  if (u < p.unwindS) return (p.amplitudeDeg * (1 + Math.cos((Math.PI * u) / p.unwindS))) / 2;
  return undefined;
}

function randomTurn(rng: SeededRandom): { turn: TurnProfile; speedMps: number } {
  const a = rng.uniform(90, 450) * (rng.next() < 0.5 ? -1 : 1);
  // Peak wheel rate of a raised cosine is A·π/(2·ramp): keep it ≤ 350 deg/s.
  const rampS = Math.max(rng.uniform(1.2, 2.5), (Math.abs(a) * Math.PI) / (2 * 350));
  const roadWheelRad = ((Math.abs(a) / STEERING_RATIO) * Math.PI) / 180;
  // Lateral acceleration v²·tan(δ)/L ≤ 3 m/s².
  const maxV = Math.sqrt((3 * WHEELBASE_M) / Math.tan(roadWheelRad));
  return {
    turn: { amplitudeDeg: a, rampS, holdS: rng.uniform(0.5, 3), unwindS: rampS * rng.uniform(0.7, 1) },
    speedMps: Math.min(rng.uniform(3.5, 6.5), maxV),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Drivers: one per scene, a state machine stepped at every sample
// ---------------------------------------------------------------------------------------------------------

/** What the driver asks for at one sample. */
interface Command {
  /** track: follow vTargetMps within the accel limits; stop: brake at decelMps2 to 0; hold: stand still. */
  readonly mode: 'track' | 'stop' | 'hold';
  readonly vTargetMps: number;
  readonly accelMaxMps2: number;
  readonly decelMps2: number;
  readonly gain: number;
  readonly gear: number;
  readonly steerTargetDeg: number;
  /** hold: brake pedal pressed while standing (in D, or while shifting out of P). */
  readonly brakeHeld: boolean;
}

interface DriverState {
  /** Seconds since the scene started. */
  readonly t: number;
  /** Seconds left in the scene. */
  readonly remainingS: number;
  readonly dt: number;
  readonly vMps: number;
}

type Driver = (s: DriverState) => Command;

const hold = (gear: number, steerTargetDeg: number, brakeHeld = gear !== GEAR_P): Command => ({
  mode: 'hold',
  vTargetMps: 0,
  accelMaxMps2: 0,
  decelMps2: 0,
  gain: 0,
  gear,
  steerTargetDeg,
  brakeHeld,
});

function restDriver(rng: SeededRandom, entrySteerDeg: number): Driver {
  const centre = clamp(entrySteerDeg, -20, 20);
  let noise = 0;
  return (s) => {
    noise = ou(noise, 1, 3, s.dt, rng);
    const steer = centre + noise;
    // Still rolling (the previous scene could not stop in time): brake in D first.
    if (s.vMps > 0) return { ...hold(GEAR_D, steer), mode: 'stop', decelMps2: 2.5 };
    return hold(GEAR_P, steer);
  };
}

function highwayDriver(rng: SeededRandom): Driver {
  const cruiseMps = rng.uniform(26, 32);
  const gain = rng.uniform(0.3, 0.5);
  let drift = 0; // slow drift of the set speed (m/s)
  let keep = 0; // lane-keeping corrections (deg)
  let curve = 0; // road curvature (deg of wheel)
  let slowUntil = -1;
  let slowDropMps = 0;
  let laneChange: { t0: number; periodS: number; amplitudeDeg: number } | undefined;
  return (s) => {
    drift = ou(drift, 1.5, 90, s.dt, rng);
    keep = ou(keep, 0.8, 1.5, s.dt, rng);
    curve = ou(curve, 1.5, 25, s.dt, rng);
    // Rare slow-downs for traffic (~ one per 3 min): these are the highway's brake applications.
    if (s.t > slowUntil && s.vMps > 20 && rng.next() < s.dt / 180) {
      slowUntil = s.t + rng.uniform(6, 15);
      slowDropMps = rng.uniform(4, 10);
    }
    if (laneChange === undefined && s.vMps > 20 && rng.next() < s.dt / 90)
      laneChange = {
        t0: s.t,
        periodS: rng.uniform(4, 7),
        amplitudeDeg: rng.uniform(2, 4) * (rng.next() < 0.5 ? -1 : 1),
      };
    let lane = 0;
    if (laneChange !== undefined) {
      const u = (s.t - laneChange.t0) / laneChange.periodS;
      if (u >= 1) laneChange = undefined;
      else lane = laneChange.amplitudeDeg * Math.sin(2 * Math.PI * u);
    }
    const slowing = s.t < slowUntil;
    return {
      mode: 'track',
      vTargetMps: clamp(cruiseMps + drift, 25, 33) - (slowing ? slowDropMps : 0),
      accelMaxMps2: s.vMps < 20 ? 2 : 1,
      decelMps2: slowing ? 2.5 : 0.4,
      gain,
      gear: GEAR_D,
      steerTargetDeg: keep + curve + lane,
      brakeHeld: false,
    };
  };
}

function cityDriver(rng: SeededRandom, entryVMps: number): Driver {
  type Phase = 'go' | 'turn' | 'stop' | 'wait';
  const accelMax = rng.uniform(1.8, 2.5);
  let phase: Phase = 'go';
  let phaseEndS = rng.uniform(15, 45); // go: cruise until; wait: stand until
  let cruiseMps = rng.uniform(8, 14);
  let traffic = 0;
  let easeUntil = -1;
  let easeDropMps = 0;
  let stopDecel = 2;
  let turn: { profile: TurnProfile; speedMps: number; startS: number | undefined } | undefined;
  let noise = 0;
  const startTurn = (): void => {
    const r = randomTurn(rng);
    turn = { profile: r.turn, speedMps: r.speedMps, startS: undefined };
    phase = 'turn';
  };
  const startGo = (t: number, minS: number, maxS: number): void => {
    phase = 'go';
    phaseEndS = t + rng.uniform(minS, maxS);
    cruiseMps = rng.uniform(8, 14);
  };
  if (entryVMps < 0.5 && rng.next() < 0.3) startTurn();
  const base = { accelMaxMps2: accelMax, decelMps2: 2.5, gain: 0.8, gear: GEAR_D, brakeHeld: false };
  /** The command of the current phase, or undefined after switching phase (then the new phase decides). */
  const phaseCommand = (s: DriverState): Command | undefined => {
    switch (phase) {
      case 'go': {
        // Near the scene's end keep cruising: a turn or stop would spill into the next scene.
        if (s.t >= phaseEndS && s.remainingS < 25) phaseEndS = Infinity;
        if (s.t >= phaseEndS) {
          if (rng.next() < 0.35) startTurn();
          else {
            phase = 'stop';
            stopDecel = rng.uniform(1.5, 3);
          }
          return undefined;
        }
        // Ease-offs behind other traffic (~ every 10 s): throttle off, often a touch of brake.
        if (s.t > easeUntil && rng.next() < s.dt / 10) {
          easeUntil = s.t + rng.uniform(2, 5);
          easeDropMps = rng.uniform(2, 5);
        }
        const v = cruiseMps + traffic - (s.t < easeUntil ? easeDropMps : 0);
        return { ...base, mode: 'track', vTargetMps: Math.max(3, v), steerTargetDeg: noise };
      }
      case 'turn': {
        if (turn === undefined) return undefined;
        // Slow to the turn speed, then steer through the turn, then drive on.
        if (turn.startS === undefined && s.vMps <= turn.speedMps + 0.7) turn.startS = s.t;
        const angle = turn.startS === undefined ? 0 : turnAngle(turn.profile, s.t - turn.startS);
        if (angle === undefined) {
          turn = undefined;
          startGo(s.t, 8, 30);
          return undefined;
        }
        return { ...base, mode: 'track', vTargetMps: turn.speedMps, steerTargetDeg: angle + noise * 0.3 };
      }
      case 'stop':
        if (s.vMps <= 0) {
          phase = 'wait';
          phaseEndS = s.t + rng.uniform(5, 40);
          return undefined;
        }
        return { ...hold(GEAR_D, noise), mode: 'stop', decelMps2: stopDecel };
      case 'wait':
        if (s.t >= phaseEndS) {
          if (rng.next() < 0.3 && s.remainingS > 25) startTurn();
          else startGo(s.t, 10, 40);
          return undefined;
        }
        return hold(GEAR_D, noise);
    }
  };
  return (s) => {
    noise = ou(noise, 2.5, 2, s.dt, rng);
    traffic = ou(traffic, 0.8, 5, s.dt, rng);
    // A phase switch never leads straight back to a switch, so two rounds suffice; three for safety.
    for (let round = 0; round < 3; round++) {
      const cmd = phaseCommand(s);
      if (cmd !== undefined) return cmd;
    }
    return hold(GEAR_D, noise);
  };
}

// ---------------------------------------------------------------------------------------------------------
// The drive
// ---------------------------------------------------------------------------------------------------------

/** Simulates a drive. Throws a RangeError for empty scene lists, bad durations or rates. */
export function simulateDrive(opts: SimulateDriveOptions): SimulatedDrive {
  const rateHz = opts.rateHz ?? 10;
  if (!(rateHz > 0 && rateHz <= 1000)) throw new RangeError(`rateHz must be in (0, 1000], got ${rateHz}`);
  if (opts.scenes.length === 0) throw new RangeError('no scenes');
  if (opts.scenes.length > 65535) throw new RangeError('too many scenes');
  if (!Number.isSafeInteger(opts.startUs) || opts.startUs < 0) throw new RangeError('bad startUs');
  const counts = opts.scenes.map((sc) => {
    if (!SCENE_TYPES.includes(sc.scene)) throw new RangeError(`unknown scene "${String(sc.scene)}"`);
    if (!(sc.durationS > 0 && Number.isFinite(sc.durationS)))
      throw new RangeError(`scene duration must be > 0 s, got ${sc.durationS}`);
    return Math.max(1, Math.round(sc.durationS * rateHz));
  });
  const n = counts.reduce((a, b) => a + b, 0);
  const dt = 1 / rateHz;
  const rng = new SeededRandom(opts.seed >>> 0);

  const tUs = new Float64Array(n);
  const speedMps = new Float64Array(n);
  const accelMps2 = new Float64Array(n);
  const steeringDeg = new Float64Array(n);
  const throttlePct = new Float64Array(n);
  const brake = new Uint8Array(n);
  const gear = new Uint8Array(n);
  const sceneIndex = new Uint16Array(n);

  let v = 0;
  let a = 0;
  let steer = 0;
  let gearNow = GEAR_P; // the drive starts parked with the engine running
  let pedalNoise = 0;
  let k = 0;
  opts.scenes.forEach((sc, si) => {
    const count = counts[si]!;
    const moving = sc.scene !== 'rest';
    const stopAtEnd = moving && opts.scenes[si + 1]?.scene === 'rest';
    const driver: Driver =
      sc.scene === 'rest'
        ? restDriver(rng, steer)
        : sc.scene === 'highway'
          ? highwayDriver(rng)
          : cityDriver(rng, v);
    // Pulling away from P: brake pressed, shift to D half-way, release at the end.
    const shiftS = moving && gearNow === GEAR_P ? rng.uniform(1, 2) : 0;
    for (let j = 0; j < count; j++, k++) {
      const t = j * dt;
      const remainingS = (count - j) * dt;
      let cmd = driver({ t, remainingS, dt, vMps: v });
      if (t < shiftS) cmd = hold(t < shiftS / 2 ? GEAR_P : GEAR_D, cmd.steerTargetDeg, true);
      else if (stopAtEnd && remainingS < v / END_STOP_DECEL + END_STOP_MARGIN_S)
        cmd =
          v > 0
            ? { ...hold(GEAR_D, cmd.steerTargetDeg), mode: 'stop', decelMps2: END_STOP_DECEL }
            : hold(GEAR_D, cmd.steerTargetDeg);

      // Longitudinal: desired acceleration, jerk-limited; speed never below 0.
      let aDes: number;
      if (cmd.mode === 'hold' && v <= 0) aDes = 0;
      else if (cmd.mode === 'track')
        aDes = clamp(cmd.gain * (cmd.vTargetMps - v), -cmd.decelMps2, cmd.accelMaxMps2);
      else aDes = -Math.max(cmd.decelMps2, 1);
      a += clamp(aDes - a, -JERK_MPS3 * dt, JERK_MPS3 * dt);
      if (cmd.mode === 'hold' && v <= 0) a = 0;
      if (v <= 0 && a < 0) a = 0; // standing still: braking does not reverse the car
      a = clamp(a, -3, 3);

      // Pedals from the acceleration and the road load (what the engine must supply).
      const engine = a + roadLoad(v);
      const standing = cmd.mode === 'hold' && v <= 0;
      const braking = standing ? cmd.brakeHeld : a < -roadLoad(v) - 0.25 || (cmd.mode !== 'track' && v <= 0);
      pedalNoise = ou(pedalNoise, 1.5, 1, dt, rng);
      const throttle =
        braking || standing || engine <= 0.05 ? 0 : clamp(6 + 28 * engine + pedalNoise, 0.5, 100);

      // Steering: first-order lag behind the driver's intent, rate- and lock-limited.
      const dSteer = (cmd.steerTargetDeg - steer) * (dt / (STEER_LAG_S + dt));
      steer = clamp(
        steer + clamp(dSteer, -MAX_STEER_RATE_DEGS * dt, MAX_STEER_RATE_DEGS * dt),
        -MAX_STEER_DEG,
        MAX_STEER_DEG,
      );
      gearNow = cmd.gear;

      tUs[k] = opts.startUs + Math.round((k * 1e6) / rateHz);
      speedMps[k] = v;
      steeringDeg[k] = steer;
      throttlePct[k] = throttle;
      brake[k] = braking ? 1 : 0;
      gear[k] = gearNow;
      sceneIndex[k] = si;
      const vNext = Math.max(0, v + a * dt);
      accelMps2[k] = (vNext - v) / dt; // what was applied (less than `a` when stopping within the step)
      v = vNext;
    }
  });

  const steeringRateDegS = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lo = Math.max(0, i - 1);
    const hi = Math.min(n - 1, i + 1);
    steeringRateDegS[i] = hi > lo ? (steeringDeg[hi]! - steeringDeg[lo]!) / ((hi - lo) * dt) : 0;
  }
  const endUs = opts.startUs + Math.round((n * 1e6) / rateHz);
  return {
    seed: opts.seed >>> 0,
    rateHz,
    startUs: opts.startUs,
    endUs,
    scenes: opts.scenes.map((s) => ({ ...s })),
    tUs,
    speedMps,
    accelMps2,
    steeringDeg,
    steeringRateDegS,
    throttlePct,
    brake,
    gear,
    sceneIndex,
    context: simulateWeather(opts.seed, opts.startUs, endUs),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Weather context (independent of the scenes: see the module comment)
// ---------------------------------------------------------------------------------------------------------

const WEATHER_INTERVAL_S = 900;
/** Relative frequency of drive start hours (local time): commute peaks, few night drives. */
const START_HOUR_WEIGHTS = [
  1, 0.5, 0.3, 0.3, 0.5, 1.5, 4, 7, 8, 6, 5, 5, 6, 5, 5, 6, 7, 8, 7, 5, 4, 3, 2, 1.5,
];

const WEATHER_UNITS: Readonly<Record<string, string>> = {
  time: 'iso8601',
  interval: 'seconds',
  temperature_2m: '°C',
  relative_humidity_2m: '%',
  apparent_temperature: '°C',
  is_day: '',
  precipitation: 'mm',
  rain: 'mm',
  showers: 'mm',
  snowfall: 'cm',
  weather_code: 'wmo code',
  cloud_cover: '%',
  surface_pressure: 'hPa',
  wind_speed_10m: 'km/h',
  wind_direction_10m: '°',
  wind_gusts_10m: 'km/h',
  visibility: 'm',
};

/** Mixes the drive seed into an independent seed for the weather stream (murmur3 finaliser). */
function weatherSeed(seed: number): number {
  let h = (seed ^ 0x5eed3a7e) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * Weather observations for a drive over [startUs, endUs): one per started 15 min, a slowly evolving
 * state. Depends only on (seed, startUs, endUs) — never on scenes — by construction.
 */
export function simulateWeather(seed: number, startUs: number, endUs: number): SimulatedWeather[] {
  const rng = new SeededRandom(weatherSeed(seed >>> 0));
  // Where and when: a random local start hour realised as a whole-hour UTC offset, longitude to match.
  const total = START_HOUR_WEIGHTS.reduce((x, y) => x + y, 0);
  let pick = rng.uniform(0, total);
  let localHour = 0;
  while (localHour < 23 && pick >= START_HOUR_WEIGHTS[localHour]!) pick -= START_HOUR_WEIGHTS[localHour++]!;
  const utcHour = new Date(startUs / 1000).getUTCHours();
  let offsetH = localHour - utcHour;
  if (offsetH < -11) offsetH += 24;
  if (offsetH > 13) offsetH -= 24;
  const latitude = round1(rng.uniform(25, 60));
  const longitude = round1(clamp(offsetH * 15 + rng.uniform(-7, 7), -180, 180));
  const elevation = Math.round(rng.uniform(0, 600));

  // Climate: seasonal and diurnal mean from latitude and date, plus weather noise.
  const localMs0 = startUs / 1000 + offsetH * 3_600_000;
  const dayOfYear = (localMs0 - Date.UTC(new Date(localMs0).getUTCFullYear(), 0, 1)) / 86_400_000;
  const annualMean = 25 - 0.45 * (latitude - 25);
  const seasonal = -(4 + 0.3 * (latitude - 25)) * Math.cos((2 * Math.PI * (dayOfYear - 15)) / 365);
  let anomaly = 4 * rng.normal();
  // Sky: a category drawn once per drive, amounts evolving.
  const u = rng.next();
  const sky = u < 0.4 ? 'clear' : u < 0.72 ? 'cloudy' : u < 0.77 ? 'fog' : 'precip';
  const precipKind = rng.next();
  let windKmh = 3 + Math.abs(rng.normal()) * 12;
  const windDir = Math.round(rng.uniform(0, 360));
  const pressure0 = 1013 + 8 * rng.normal() - elevation / 8.3;
  const cloud0 =
    sky === 'clear' ? rng.uniform(0, 25) : sky === 'cloudy' ? rng.uniform(30, 100) : rng.uniform(80, 100);
  let intensity = rng.uniform(0.2, 1);
  const visibility0 =
    sky === 'fog'
      ? rng.uniform(100, 1000)
      : sky === 'precip'
        ? rng.uniform(2000, 15000)
        : rng.uniform(15000, 50000);

  const out: SimulatedWeather[] = [];
  for (let tUs = startUs; out.length === 0 || tUs < endUs; tUs += WEATHER_INTERVAL_S * 1e6) {
    const localMs = tUs / 1000 + offsetH * 3_600_000;
    const hour = (localMs / 3_600_000) % 24;
    anomaly += 0.3 * rng.normal();
    windKmh = Math.max(0, windKmh + 1.5 * rng.normal());
    intensity = clamp(intensity + 0.1 * rng.normal(), 0.05, 1);
    const temperature = annualMean + seasonal + 4 * Math.cos((2 * Math.PI * (hour - 15)) / 24) + anomaly;
    const humidity = clamp(
      sky === 'fog' || sky === 'precip' ? rng.uniform(85, 100) : rng.uniform(40, 85),
      0,
      100,
    );
    // WMO code and amounts (per 15 min): snow below ~1 °C, thunder only when warm.
    let code = 0;
    let rain = 0;
    let showers = 0;
    let snowfall = 0;
    if (sky === 'clear') code = cloud0 < 10 ? 0 : 1;
    else if (sky === 'cloudy') code = cloud0 < 70 ? 2 : 3;
    else if (sky === 'fog') code = 45;
    else if (temperature < 1) {
      code = intensity < 0.4 ? 71 : intensity < 0.75 ? 73 : 75;
      snowfall = round1(0.2 + 1.8 * intensity);
    } else if (precipKind < 0.25) {
      code = intensity < 0.5 ? 51 : 53;
      rain = round1(0.1 + 0.4 * intensity);
    } else if (precipKind < 0.7) {
      code = intensity < 0.4 ? 61 : intensity < 0.75 ? 63 : 65;
      rain = round1(0.3 + 3.5 * intensity);
    } else if (precipKind < 0.9 || temperature < 15) {
      code = intensity < 0.5 ? 80 : 81;
      showers = round1(0.5 + 5 * intensity);
    } else {
      code = 95;
      showers = round1(2 + 6 * intensity);
    }
    const precipitation = round1(rain + showers + snowfall / 0.7);
    // Steadman's apparent temperature (shade): T + 0.33·e − 0.70·ws − 4.00, e in hPa, ws in m/s.
    const vapour = (humidity / 100) * 6.105 * Math.exp((17.27 * temperature) / (237.7 + temperature));
    const apparent = temperature + 0.33 * vapour - 0.7 * (windKmh / 3.6) - 4;
    const isDay = solarElevationDeg(tUs, latitude, longitude) > -0.833 ? 1 : 0;
    const slotMs = Math.floor(localMs / (WEATHER_INTERVAL_S * 1000)) * WEATHER_INTERVAL_S * 1000;
    out.push({
      tUs,
      response: {
        latitude,
        longitude,
        elevation,
        utc_offset_seconds: offsetH * 3600,
        timezone: `GMT${offsetH >= 0 ? '+' : '-'}${Math.abs(offsetH)}`,
        timezone_abbreviation: `GMT${offsetH >= 0 ? '+' : '-'}${Math.abs(offsetH)}`,
        current_units: WEATHER_UNITS,
        current: {
          time: new Date(slotMs).toISOString().slice(0, 16),
          interval: WEATHER_INTERVAL_S,
          temperature_2m: round1(temperature),
          relative_humidity_2m: Math.round(humidity),
          apparent_temperature: round1(apparent),
          is_day: isDay,
          precipitation,
          rain,
          showers,
          snowfall,
          weather_code: code,
          cloud_cover: Math.round(clamp(cloud0 + 5 * rng.normal(), sky === 'clear' ? 0 : 30, 100)),
          surface_pressure: round1(pressure0 + 0.3 * rng.normal()),
          wind_speed_10m: round1(windKmh),
          wind_direction_10m: windDir,
          wind_gusts_10m: round1(windKmh * rng.uniform(1.3, 2)),
          visibility: Math.round(visibility0 * rng.uniform(0.9, 1.1)),
        },
      },
    });
  }
  return out;
}

/** A weather-stream message (src/streams/contracts/weather.ts) carrying one simulated observation. */
export function weatherMessage(w: SimulatedWeather, session: number, seq: number): WeatherMessage {
  return { ...w.response, v: 1, session, seq, tUs: w.tUs };
}

// ---------------------------------------------------------------------------------------------------------
// CAN frames through a vehicle profile
// ---------------------------------------------------------------------------------------------------------

/** Per-sample series a driving role is simulated from. */
type SeriesKey = 'speedMps' | 'steeringDeg' | 'steeringRateDegS' | 'throttlePct' | 'brake' | 'gear';

const ROLE_SERIES: Readonly<Record<DrivingRole, SeriesKey>> = {
  speed: 'speedMps',
  steering_angle: 'steeringDeg',
  steering_rate: 'steeringRateDegS',
  brake: 'brake',
  throttle: 'throttlePct',
  gear: 'gear',
};

/**
 * A series' value at any time: linear interpolation for continuous signals, the last sample at or before
 * `tUs` for brake and gear (pedal switch and selector are discrete). Clamped to the drive's first/last sample.
 */
export function signalAt(drive: SimulatedDrive, key: SeriesKey, tUs: number): number {
  const series = drive[key];
  const n = drive.tUs.length;
  const x = ((tUs - drive.startUs) * drive.rateHz) / 1e6;
  if (x <= 0) return series[0]!;
  if (x >= n - 1) return series[n - 1]!;
  // Sample times are rounded to µs: find the bracketing samples from the nominal index.
  let i = Math.floor(x);
  while (i > 0 && drive.tUs[i]! > tUs) i--;
  while (i < n - 2 && drive.tUs[i + 1]! <= tUs) i++;
  if (key === 'brake' || key === 'gear') return series[i]!;
  const t0 = drive.tUs[i]!;
  const f = (tUs - t0) / (drive.tUs[i + 1]! - t0);
  return series[i]! + f * (series[i + 1]! - series[i]!);
}

/** Default frame rates by DBC message name (RAV4 as logged by comma), Hz; others use 20 Hz. */
export const DEFAULT_CAN_RATES_HZ: Readonly<Record<string, number>> = {
  WHEEL_SPEEDS: 80,
  STEER_ANGLE_SENSOR: 80,
  BRAKE_MODULE: 40,
  GAS_PEDAL: 33,
  GEAR_PACKET: 20,
};

export interface CanSimulationOptions {
  /** Frame rate per DBC message name, Hz (defaults: DEFAULT_CAN_RATES_HZ, else 20). */
  readonly ratesHz?: Readonly<Record<string, number>>;
}

/** DBC-unit values for the inputs of one profile signal carrying the profile-unit value `y`. */
function inverseProfile(r: ResolvedProfileSignal, y: number): number[] {
  const pre = (y - r.offset) / r.scale;
  const toDbc = r.conversions.map((c) => (pre - c.offset) * (c.divide / c.multiply));
  if (r.combine !== 'sum' || r.inputs.length === 1) return toDbc;
  // Sum of a coarse and a fine signal (RAV4 steering: STEER_ANGLE 1.5° + STEER_FRACTION 0.1°): coarse
  // steps, the fine signal carries the remainder. Exact when coarse/fine factors are an integer ratio.
  const [s0, s1] = r.inputs as readonly DbcSignal[];
  if (r.inputs.length !== 2 || s0 === undefined || s1 === undefined || s0.offset !== 0 || s1.offset !== 0)
    throw new Error(`${r.name}: cannot split a sum over ${r.inputs.length} inputs`);
  const coarseFirst = Math.abs(s0.factor) >= Math.abs(s1.factor);
  const coarse = coarseFirst ? s0 : s1;
  const fine = coarseFirst ? s1 : s0;
  const x = toDbc[0]!;
  const ratio = coarse.factor / fine.factor;
  let coarseV: number;
  let fineV: number;
  if (Math.abs(ratio - Math.round(ratio)) < 1e-9) {
    const steps = Math.round(x / fine.factor);
    const k = Math.round(steps / Math.round(ratio));
    coarseV = k * coarse.factor;
    fineV = (steps - k * Math.round(ratio)) * fine.factor;
  } else {
    coarseV = Math.round(x / coarse.factor) * coarse.factor;
    fineV = x - coarseV;
  }
  return coarseFirst ? [coarseV, fineV] : [fineV, coarseV];
}

/**
 * The CAN frames of a simulated drive as the profile's car would send them: for each driving role the
 * profile defines, its message at that message's rate over [first sample, last sample], carrying the
 * interpolated signal (signalAt) converted back to the DBC's units; all other signals of those messages are
 * raw 0. Frames are sorted by time; each message has a fixed phase so messages do not all coincide. The
 * bus number is the digit of the profile's bus name (`can0` → 0).
 */
export function simulatedCanFrames(
  drive: SimulatedDrive,
  resources: CanProfileResources,
  options: CanSimulationOptions = {},
): CanFrame[] {
  const { db, profile } = resources;
  const byMessage = new Map<DbcMessage, { role: DrivingRole; r: ResolvedProfileSignal }[]>();
  for (const role of DRIVING_ROLES) {
    if (profile.signals[role] === undefined) continue;
    const r = resolveProfileSignal(profile, role, db);
    const list = byMessage.get(r.message) ?? [];
    list.push({ role, r });
    byMessage.set(r.message, list);
  }
  const firstUs = drive.tUs[0]!;
  const lastUs = drive.tUs[drive.tUs.length - 1]!;
  const frames: CanFrame[] = [];
  for (const [message, roles] of byMessage) {
    const rateHz = options.ratesHz?.[message.name] ?? DEFAULT_CAN_RATES_HZ[message.name] ?? 20;
    const periodUs = 1e6 / rateHz;
    const phaseUs = (message.id * 7919) % Math.floor(periodUs);
    const busName = roles[0]!.r.bus ?? 'can0';
    const bus = Number(/(\d+)$/.exec(busName)?.[1] ?? 0);
    for (let j = 0; ; j++) {
      const tUs = firstUs + phaseUs + Math.round(j * periodUs);
      if (tUs > lastUs) break;
      const values: Record<string, number> = {};
      for (const { role, r } of roles) {
        const dbcValues = inverseProfile(r, signalAt(drive, ROLE_SERIES[role], tUs));
        r.inputs.forEach((sig, i) => (values[sig.name] = dbcValues[i]!));
      }
      frames.push({
        tUs,
        id: message.id,
        extended: message.extended,
        rtr: false,
        fd: false,
        errorFrame: false,
        bus,
        data: encodeMessage(message, values),
      });
    }
  }
  frames.sort((x, y) => x.tUs - y.tUs || x.id - y.id);
  return frames;
}

// ---------------------------------------------------------------------------------------------------------
// Summaries (CLI, tests)
// ---------------------------------------------------------------------------------------------------------

export interface SceneStats {
  readonly samples: number;
  readonly meanSpeedMps: number;
  readonly maxSpeedMps: number;
  readonly maxAbsSteeringDeg: number;
  readonly steeringStdDeg: number;
  /** Times the car came to a standstill (speed > 0 → 0). */
  readonly stops: number;
  readonly brakeFraction: number;
  /** Mean throttle over samples with the pedal pressed (NaN if never). */
  readonly meanThrottlePct: number;
  readonly throttleBrakeSwitches: number;
}

/** Statistics over the samples [from, to) of a drive. */
export function driveStats(drive: SimulatedDrive, from = 0, to = drive.tUs.length): SceneStats {
  let sumV = 0;
  let maxV = 0;
  let maxSteer = 0;
  let sumS = 0;
  let sumS2 = 0;
  let stops = 0;
  let brakes = 0;
  let thrSum = 0;
  let thrN = 0;
  let switches = 0;
  let lastPedal = 0; // +1 throttle, −1 brake
  for (let i = from; i < to; i++) {
    const v = drive.speedMps[i]!;
    sumV += v;
    maxV = Math.max(maxV, v);
    const s = drive.steeringDeg[i]!;
    maxSteer = Math.max(maxSteer, Math.abs(s));
    sumS += s;
    sumS2 += s * s;
    if (i > from && v === 0 && drive.speedMps[i - 1]! > 0) stops++;
    brakes += drive.brake[i]!;
    const thr = drive.throttlePct[i]!;
    if (thr > 0) {
      thrSum += thr;
      thrN++;
    }
    const pedal = drive.brake[i] === 1 ? -1 : thr > 0 ? 1 : 0;
    if (pedal !== 0 && lastPedal !== 0 && pedal !== lastPedal) switches++;
    if (pedal !== 0) lastPedal = pedal;
  }
  const n = to - from;
  const mean = sumS / n;
  return {
    samples: n,
    meanSpeedMps: sumV / n,
    maxSpeedMps: maxV,
    maxAbsSteeringDeg: maxSteer,
    steeringStdDeg: Math.sqrt(Math.max(0, sumS2 / n - mean * mean)),
    stops,
    brakeFraction: brakes / n,
    meanThrottlePct: thrN > 0 ? thrSum / thrN : NaN,
    throttleBrakeSwitches: switches,
  };
}

/** [from, to) sample ranges of each scene. */
export function sceneRanges(drive: SimulatedDrive): { scene: SceneType; from: number; to: number }[] {
  const out: { scene: SceneType; from: number; to: number }[] = [];
  for (let i = 0; i < drive.sceneIndex.length; i++) {
    const si = drive.sceneIndex[i]!;
    const last = out[out.length - 1];
    if (last !== undefined && out.length - 1 === si) last.to = i + 1;
    else out.push({ scene: drive.scenes[si]!.scene, from: i, to: i + 1 });
  }
  return out;
}
