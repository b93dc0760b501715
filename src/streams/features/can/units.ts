/**
 * Unit conversions for vehicle profiles: value_in_target = value_in_source × multiply ÷ divide + offset.
 * Units are matched after normalising case, spaces and common spellings ("kph", "km/h", "kmh"; "°", "deg",
 * "degree"; "m/s^2", "m/s²"). The empty unit is dimensionless and converts only to itself (or "1").
 */

interface Dim {
  /** Physical quantity. */
  readonly q: string;
  /** The unit is num/den of the quantity's base unit (a ratio, so km/h → m/s is an exact ÷ 3.6). */
  readonly num: number;
  readonly den: number;
}

const UNITS: Readonly<Record<string, Dim>> = {
  'm/s': { q: 'speed', num: 1, den: 1 },
  'km/h': { q: 'speed', num: 1, den: 3.6 },
  mph: { q: 'speed', num: 0.44704, den: 1 },
  kn: { q: 'speed', num: 1852, den: 3600 },
  deg: { q: 'angle', num: Math.PI, den: 180 },
  rad: { q: 'angle', num: 1, den: 1 },
  'deg/s': { q: 'angular-rate', num: Math.PI, den: 180 },
  'rad/s': { q: 'angular-rate', num: 1, den: 1 },
  'm/s^2': { q: 'acceleration', num: 1, den: 1 },
  g: { q: 'acceleration', num: 9.80665, den: 1 },
  '%': { q: 'ratio', num: 1, den: 100 },
  '1': { q: 'ratio', num: 1, den: 1 },
  m: { q: 'length', num: 1, den: 1 },
  km: { q: 'length', num: 1000, den: 1 },
  n: { q: 'force', num: 1, den: 1 },
  nm: { q: 'torque', num: 1, den: 1 },
  bar: { q: 'pressure', num: 1e5, den: 1 },
  kpa: { q: 'pressure', num: 1e3, den: 1 },
  rpm: { q: 'rotation', num: 1, den: 1 },
};

const ALIASES: Readonly<Record<string, string>> = {
  kph: 'km/h',
  kmh: 'km/h',
  'km/hr': 'km/h',
  mps: 'm/s',
  '°': 'deg',
  degree: 'deg',
  degrees: 'deg',
  '°/s': 'deg/s',
  'deg/sec': 'deg/s',
  'm/s²': 'm/s^2',
  'm/s2': 'm/s^2',
  '': '1',
  percent: '%',
};

export function normaliseUnit(unit: string): string {
  const u = unit.trim().toLowerCase().replace(/\s+/g, '');
  return ALIASES[u] ?? u;
}

/** target = source × multiply ÷ divide + offset (two factors so that e.g. ÷ 3.6 stays exactly ÷ 3.6). */
export interface LinearConversion {
  readonly multiply: number;
  readonly divide: number;
  readonly offset: number;
}

export const IDENTITY: LinearConversion = Object.freeze({ multiply: 1, divide: 1, offset: 0 });

/** The conversion from one unit to another, or undefined when they are not the same quantity. */
export function unitConversion(from: string, to: string): LinearConversion | undefined {
  const a = normaliseUnit(from);
  const b = normaliseUnit(to);
  if (a === b) return IDENTITY;
  const da = UNITS[a];
  const db = UNITS[b];
  if (da === undefined || db === undefined || da.q !== db.q) return undefined;
  // v · (na/da) / (nb/db) = v · (na·db) / (da·nb)
  return { multiply: da.num * db.den, divide: da.den * db.num, offset: 0 };
}

export function applyConversion(c: LinearConversion, v: number): number {
  return (v * c.multiply) / c.divide + c.offset;
}
