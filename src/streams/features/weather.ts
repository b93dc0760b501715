import type { WeatherObservation } from '../contracts/messages.ts';

/**
 * Weather and time context for the stress model's context branch, from an Open-Meteo `current=`
 * observation (the `weather` stream). Pure functions.
 *
 * Units are normalised to SI-ish units whatever the response used (°F → °C, inch → mm, mp/h or km/h or kn
 * → m/s, ft → m). A field the response lacks, or gives with a unit this code does not know, is missing:
 * `null` in the context and 0 with mask 0 in the vector, never a silent zero.
 * Time: `tUs` is the observation's event time (UTC); local time uses the response's `utc_offset_seconds`.
 * Daylight comes from Open-Meteo's `is_day` when present, else from the solar elevation computed from
 * latitude, longitude and time (NOAA's approximate solar position; day = elevation > −0.833°).
 */
export type WmoCategory =
  'clear' | 'cloudy' | 'fog' | 'drizzle' | 'rain' | 'snow' | 'showers' | 'thunderstorm';

export interface WeatherContext {
  readonly tUs: number;
  readonly temperatureC: number | null;
  readonly apparentTemperatureC: number | null;
  readonly relativeHumidityPct: number | null;
  /** Liquid-equivalent precipitation in the observation interval (mm): `precipitation`, else rain + showers. */
  readonly precipitationMm: number | null;
  readonly snowfallCm: number | null;
  readonly wmoCode: number | null;
  readonly wmoCategory: WmoCategory | null;
  readonly cloudCoverPct: number | null;
  readonly windSpeedMs: number | null;
  readonly windGustMs: number | null;
  readonly visibilityM: number | null;
  readonly isDay: boolean | null;
  readonly solarElevationDeg: number | null;
  /** Local hour of day in [0, 24), from the UTC time and the response's UTC offset (UTC when absent). */
  readonly localHour: number;
  /** Names of the fields that were absent or had an unknown unit. */
  readonly missing: readonly string[];
}

/** WMO weather interpretation codes (WW) as Open-Meteo documents them, grouped. */
export function wmoCategory(code: number): WmoCategory | null {
  if (!Number.isInteger(code) || code < 0 || code > 99) return null;
  if (code <= 1) return 'clear';
  if (code <= 3) return 'cloudy';
  if (code === 45 || code === 48) return 'fog';
  if (code >= 51 && code <= 57) return 'drizzle';
  if ((code >= 61 && code <= 67) || code === 80 || code === 81 || code === 82)
    return code >= 80 ? 'showers' : 'rain';
  if ((code >= 71 && code <= 77) || code === 85 || code === 86) return 'snow';
  if (code >= 95 && code <= 99) return 'thunderstorm';
  return null;
}

type Converter = (v: number) => number;
const TEMPERATURE: Record<string, Converter> = { '°C': (v) => v, '°F': (v) => ((v - 32) * 5) / 9 };
const LENGTH_MM: Record<string, Converter> = { mm: (v) => v, inch: (v) => v * 25.4 };
const SNOW_CM: Record<string, Converter> = { cm: (v) => v, inch: (v) => v * 2.54 };
const SPEED_MS: Record<string, Converter> = {
  'm/s': (v) => v,
  'km/h': (v) => v / 3.6,
  'mp/h': (v) => v * 0.44704,
  mph: (v) => v * 0.44704,
  kn: (v) => v * 0.514444,
};
const DISTANCE_M: Record<string, Converter> = { m: (v) => v, ft: (v) => v * 0.3048 };
const PERCENT: Record<string, Converter> = { '%': (v) => v };
const CODE: Record<string, Converter> = { 'wmo code': (v) => v };

/** Open-Meteo's default unit per field, used when `current_units` does not name one. */
const DEFAULT_UNITS: Record<string, string> = {
  temperature_2m: '°C',
  apparent_temperature: '°C',
  relative_humidity_2m: '%',
  precipitation: 'mm',
  rain: 'mm',
  showers: 'mm',
  snowfall: 'cm',
  weather_code: 'wmo code',
  cloud_cover: '%',
  wind_speed_10m: 'km/h',
  wind_gusts_10m: 'km/h',
  visibility: 'm',
};

function field(
  o: WeatherObservation,
  name: string,
  table: Record<string, Converter>,
  missing: string[],
): number | null {
  const v = o.current[name];
  const unit = o.units[name] ?? DEFAULT_UNITS[name];
  const convert = unit === undefined ? undefined : table[unit];
  if (typeof v !== 'number' || !Number.isFinite(v) || convert === undefined) {
    missing.push(name);
    return null;
  }
  return convert(v);
}

/** Solar elevation in degrees (NOAA approximation, ±1° — ample for day/night and dusk). */
export function solarElevationDeg(tUs: number, latitudeDeg: number, longitudeDeg: number): number {
  const rad = Math.PI / 180;
  const days = tUs / 86_400e6 - 10_957.5; // days since J2000.0 (2000-01-01T12:00Z)
  const meanLongitude = (280.46 + 0.9856474 * days) % 360;
  const meanAnomaly = ((357.528 + 0.9856003 * days) % 360) * rad;
  const eclipticLongitude =
    (meanLongitude + 1.915 * Math.sin(meanAnomaly) + 0.02 * Math.sin(2 * meanAnomaly)) * rad;
  const obliquity = (23.439 - 0.0000004 * days) * rad;
  const declination = Math.asin(Math.sin(obliquity) * Math.sin(eclipticLongitude));
  const rightAscension = Math.atan2(
    Math.cos(obliquity) * Math.sin(eclipticLongitude),
    Math.cos(eclipticLongitude),
  );
  const gmstHours = (18.697374558 + 24.06570982441908 * days) % 24;
  const hourAngle = (gmstHours * 15 + longitudeDeg) * rad - rightAscension;
  const lat = latitudeDeg * rad;
  return (
    Math.asin(
      Math.sin(lat) * Math.sin(declination) + Math.cos(lat) * Math.cos(declination) * Math.cos(hourAngle),
    ) / rad
  );
}

export function weatherContext(o: WeatherObservation): WeatherContext {
  const missing: string[] = [];
  const precipitation = field(o, 'precipitation', LENGTH_MM, []);
  let precipitationMm = precipitation;
  if (precipitationMm === null) {
    const rain = field(o, 'rain', LENGTH_MM, []);
    const showers = field(o, 'showers', LENGTH_MM, []);
    precipitationMm = rain === null && showers === null ? null : (rain ?? 0) + (showers ?? 0);
    if (precipitationMm === null) missing.push('precipitation');
  }
  const wmoCode = field(o, 'weather_code', CODE, missing);
  const isDayRaw = o.current['is_day'];
  const solar =
    o.latitude !== undefined && o.longitude !== undefined
      ? solarElevationDeg(o.tUs, o.latitude, o.longitude)
      : null;
  const isDay = typeof isDayRaw === 'number' ? isDayRaw === 1 : solar === null ? null : solar > -0.833;
  if (isDay === null) missing.push('is_day');
  const localMs = o.tUs / 1000 + (o.utcOffsetSeconds ?? 0) * 1000;
  const localHour = (((localMs / 3_600_000) % 24) + 24) % 24;
  return {
    tUs: o.tUs,
    temperatureC: field(o, 'temperature_2m', TEMPERATURE, missing),
    apparentTemperatureC: field(o, 'apparent_temperature', TEMPERATURE, missing),
    relativeHumidityPct: field(o, 'relative_humidity_2m', PERCENT, missing),
    precipitationMm,
    snowfallCm: field(o, 'snowfall', SNOW_CM, missing),
    wmoCode,
    wmoCategory: wmoCode === null ? null : wmoCategory(wmoCode),
    cloudCoverPct: field(o, 'cloud_cover', PERCENT, missing),
    windSpeedMs: field(o, 'wind_speed_10m', SPEED_MS, missing),
    windGustMs: field(o, 'wind_gusts_10m', SPEED_MS, missing),
    visibilityM: field(o, 'visibility', DISTANCE_M, missing),
    isDay,
    solarElevationDeg: solar,
    localHour,
    missing,
  };
}

/** Fixed order of the context vector; `mask[i]` is 1 when `values[i]` is known. */
export const CONTEXT_FEATURES = [
  'temperature_c',
  'apparent_temperature_c',
  'relative_humidity',
  'precipitation_mm',
  'snowfall_cm',
  'cloud_cover',
  'wind_speed_ms',
  'wind_gust_ms',
  'visibility_km',
  'is_day',
  'solar_elevation',
  'hour_sin',
  'hour_cos',
  'wmo_fog',
  'wmo_precipitation',
  'wmo_snow',
  'wmo_thunderstorm',
] as const;

export interface ContextVector {
  readonly values: Float32Array;
  readonly mask: Uint8Array;
}

/** The model-facing vector: plain physical values (scaling is the model's business), a mask for missing ones. */
export function contextVector(c: WeatherContext): ContextVector {
  const cat = c.wmoCategory;
  const hourAngle = (2 * Math.PI * c.localHour) / 24;
  const entries: (number | boolean | null)[] = [
    c.temperatureC,
    c.apparentTemperatureC,
    c.relativeHumidityPct === null ? null : c.relativeHumidityPct / 100,
    c.precipitationMm,
    c.snowfallCm,
    c.cloudCoverPct === null ? null : c.cloudCoverPct / 100,
    c.windSpeedMs,
    c.windGustMs,
    c.visibilityM === null ? null : c.visibilityM / 1000,
    c.isDay,
    c.solarElevationDeg,
    Math.sin(hourAngle),
    Math.cos(hourAngle),
    cat === null ? null : cat === 'fog',
    cat === null ? null : cat === 'drizzle' || cat === 'rain' || cat === 'showers',
    cat === null ? null : cat === 'snow',
    cat === null ? null : cat === 'thunderstorm',
  ];
  const values = new Float32Array(entries.length);
  const mask = new Uint8Array(entries.length);
  entries.forEach((v, i) => {
    if (v === null) return;
    values[i] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
    mask[i] = 1;
  });
  return { values, mask };
}
