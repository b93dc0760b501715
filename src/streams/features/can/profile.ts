/**
 * Vehicle profiles: which CAN messages and signals of a car mean speed, steering, brake, throttle, gear…
 * (configuration, JSON, validated by `vehicleProfileSchema`; examples in devices/profiles/).
 *
 * A profile signal is one DBC signal or a derived value over several signals OF THE SAME MESSAGE, so each
 * frame of that message yields one value and "the n-th decoded frame" stays meaningful:
 *   value = combine(convert(input₁), …, convert(inputₖ)) × scale + offset
 * where convert() turns each input from its DBC unit (or `fromUnit`) into the profile signal's `unit`, and
 * combine is mean, sum, min or max (one input: the identity). If any input is absent in a frame (short
 * frame, multiplexer not selecting it), the derived value is absent too.
 * Example (comma's RAV4 ground truth): speed = mean of WHEEL_SPEEDS.WHEEL_SPEED_{FL,FR,RL,RR} (km/h) in m/s;
 * steering_angle = STEER_ANGLE_SENSOR.STEER_ANGLE + STEER_FRACTION (deg).
 *
 * Bus selection: `bus` (profile default, or per signal) is the interface name as candump logs it (`can0`);
 * absent = any bus. Frames the logger itself sent (`can0tx` / candump -x ' T') are excluded unless
 * `includeTx` is true: they are commands, not the vehicle's state.
 *
 * Driving roles: the names `speed`, `steering_angle`, `steering_rate`, `brake`, `throttle` and `gear` feed
 * the driving features and must use the units those expect (m/s, deg, deg/s, any, %, any); `brake` and
 * `throttle` need an `activeThreshold` (pressed/active when value > threshold).
 */
import { z } from 'zod';
import type { DbcDatabase, DbcMessage, DbcSignal } from './dbc.ts';
import type { LinearConversion } from './units.ts';
import { normaliseUnit, unitConversion } from './units.ts';

export const DRIVING_ROLES = [
  'speed',
  'steering_angle',
  'steering_rate',
  'brake',
  'throttle',
  'gear',
] as const;
export type DrivingRole = (typeof DRIVING_ROLES)[number];

/** Unit each driving role must be expressed in (undefined: any). */
export const ROLE_UNITS: Readonly<Record<DrivingRole, string | undefined>> = {
  speed: 'm/s',
  steering_angle: 'deg',
  steering_rate: 'deg/s',
  brake: undefined,
  throttle: '%',
  gear: undefined,
};

const NAME_RE = /^[a-z][a-z0-9_]{0,63}$/;
const REF_RE = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/;

export const profileSignalSchema = z
  .object({
    description: z.string().optional().describe('What the signal is, with any caveat'),
    inputs: z
      .array(z.string().regex(REF_RE, 'expected MESSAGE.SIGNAL (DBC names)'))
      .min(1)
      .describe('DBC signals as MESSAGE.SIGNAL, all of one message'),
    combine: z
      .enum(['mean', 'sum', 'min', 'max'])
      .optional()
      .describe('How several inputs are combined (required with more than one input)'),
    unit: z.string().describe('Unit of the profile signal; inputs are converted to it from their DBC unit'),
    fromUnit: z
      .string()
      .optional()
      .describe("Overrides the inputs' DBC unit (for DBCs with missing/wrong units)"),
    scale: z.number().finite().default(1).describe('Applied after combining: value × scale + offset'),
    offset: z.number().finite().default(0),
    bus: z.string().min(1).optional().describe("Bus of this signal (overrides the profile's bus)"),
    activeThreshold: z
      .number()
      .finite()
      .optional()
      .describe('Pedal-like signals: active when value > activeThreshold (brake, throttle)'),
  })
  .strict()
  .refine((s) => s.inputs.length === 1 || s.combine !== undefined, {
    message: 'several inputs need "combine" (mean, sum, min or max)',
    path: ['combine'],
  })
  .refine((s) => new Set(s.inputs.map((i) => i.split('.')[0])).size === 1, {
    message: 'all inputs of a signal must come from one message (one value per frame)',
    path: ['inputs'],
  });

export const vehicleProfileSchema = z
  .object({
    $comment: z.string().optional(),
    id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .describe('Profile id, e.g. toyota-rav4-2018'),
    description: z.string().default(''),
    vehicle: z
      .object({ make: z.string(), model: z.string(), year: z.number().int().min(1980).max(2100) })
      .strict()
      .optional(),
    dbc: z.string().optional().describe('The DBC the names refer to (file name, informational)'),
    bus: z
      .string()
      .min(1)
      .optional()
      .describe('Default bus (candump interface name, e.g. can0); absent: any'),
    includeTx: z.boolean().default(false).describe('Also decode frames the logger sent (can0tx, " T")'),
    signals: z
      .record(z.string(), profileSignalSchema)
      .refine((r) => Object.keys(r).length > 0, 'a profile needs at least one signal'),
  })
  .strict()
  .superRefine((p, ctx) => {
    // Checked here rather than as the record's key schema: zod reports a bad key only as "Invalid key".
    for (const name of Object.keys(p.signals))
      if (!NAME_RE.test(name))
        ctx.addIssue({
          code: 'custom',
          path: ['signals', name],
          message: `signal names are lower_snake_case (a-z, 0-9, _; up to 64), got "${name}"`,
        });
    for (const role of DRIVING_ROLES) {
      const s = p.signals[role];
      if (s === undefined) continue;
      const want = ROLE_UNITS[role];
      if (want !== undefined && normaliseUnit(s.unit) !== normaliseUnit(want))
        ctx.addIssue({
          code: 'custom',
          path: ['signals', role, 'unit'],
          message: `${role} must be in ${want}`,
        });
      if ((role === 'brake' || role === 'throttle') && s.activeThreshold === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['signals', role, 'activeThreshold'],
          message: `${role} needs an activeThreshold`,
        });
    }
  });

export type VehicleProfile = z.output<typeof vehicleProfileSchema>;
export type VehicleProfileInput = z.input<typeof vehicleProfileSchema>;
export type ProfileSignal = z.output<typeof profileSignalSchema>;

export class ProfileError extends Error {
  override name = 'ProfileError';
}

/** Validates a parsed JSON value; throws ProfileError listing every problem with its path. */
export function parseVehicleProfile(json: unknown, source = 'profile'): VehicleProfile {
  const r = vehicleProfileSchema.safeParse(json);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new ProfileError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  return r.data;
}

/** Parses profile JSON text (as read from a file). */
export function parseVehicleProfileText(text: string, source = 'profile'): VehicleProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ProfileError(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  return parseVehicleProfile(json, source);
}

export interface ResolvedProfileSignal {
  readonly name: string;
  readonly unit: string;
  readonly description: string | undefined;
  readonly message: DbcMessage;
  readonly inputs: readonly DbcSignal[];
  /** Per input, from its DBC unit (or fromUnit) to `unit`. */
  readonly conversions: readonly LinearConversion[];
  readonly combine: 'mean' | 'sum' | 'min' | 'max' | undefined;
  readonly scale: number;
  readonly offset: number;
  readonly bus: string | undefined;
  readonly includeTx: boolean;
  readonly activeThreshold: number | undefined;
}

/** Looks a `MESSAGE.SIGNAL` reference up in the DBC (MESSAGE: name, or id as 0x… hex or decimal). */
export function lookupSignal(db: DbcDatabase, ref: string): { message: DbcMessage; signal: DbcSignal } {
  const dot = ref.indexOf('.');
  if (dot <= 0 || dot === ref.length - 1) throw new ProfileError(`"${ref}" is not MESSAGE.SIGNAL`);
  const msgPart = ref.slice(0, dot);
  const sigPart = ref.slice(dot + 1);
  let message = db.byName.get(msgPart);
  if (message === undefined && /^(0x[0-9a-fA-F]+|\d+)$/.test(msgPart)) {
    const id = Number(msgPart);
    message = db.messages.find((m) => m.id === id);
  }
  if (message === undefined)
    throw new ProfileError(`no message "${msgPart}" in the DBC${suggest(msgPart, [...db.byName.keys()])}`);
  const signal = message.signals.find((s) => s.name === sigPart);
  if (signal === undefined)
    throw new ProfileError(
      `message ${message.name} has no signal "${sigPart}"${suggest(
        sigPart,
        message.signals.map((s) => s.name),
      )}`,
    );
  return { message, signal };
}

/** Resolves one profile signal against a DBC; throws ProfileError naming what does not fit. */
export function resolveProfileSignal(
  profile: VehicleProfile,
  name: string,
  db: DbcDatabase,
): ResolvedProfileSignal {
  const s = profile.signals[name];
  if (s === undefined)
    throw new ProfileError(
      `profile ${profile.id} has no signal "${name}" (it has: ${Object.keys(profile.signals).join(', ')})`,
    );
  const found = s.inputs.map((ref) => {
    try {
      return lookupSignal(db, ref);
    } catch (e) {
      throw new ProfileError(`profile signal ${name}: ${(e as Error).message}`);
    }
  });
  const message = found[0]!.message;
  const conversions = found.map(({ signal }) => {
    const from = s.fromUnit ?? signal.unit;
    const c = unitConversion(from, s.unit);
    if (c === undefined)
      throw new ProfileError(
        `profile signal ${name}: cannot convert ${message.name}.${signal.name} from "${from}" to "${s.unit}" ` +
          '(set "fromUnit", and "scale"/"offset" for a custom conversion)',
      );
    return c;
  });
  return {
    name,
    unit: s.unit,
    description: s.description,
    message,
    inputs: found.map((f) => f.signal),
    conversions,
    combine: s.inputs.length > 1 ? s.combine : undefined,
    scale: s.scale,
    offset: s.offset,
    bus: s.bus ?? profile.bus,
    includeTx: profile.includeTx,
    activeThreshold: s.activeThreshold,
  };
}

/** Resolves every signal of a profile (checks the whole profile against a DBC at start-up). */
export function resolveProfile(profile: VehicleProfile, db: DbcDatabase): ResolvedProfileSignal[] {
  return Object.keys(profile.signals).map((n) => resolveProfileSignal(profile, n, db));
}

function suggest(name: string, options: readonly string[]): string {
  const lower = name.toLowerCase();
  const close = options
    .filter((o) => o.toLowerCase().includes(lower) || lower.includes(o.toLowerCase()))
    .slice(0, 5);
  return close.length > 0 ? ` (did you mean ${close.join(', ')}?)` : '';
}
