/**
 * `drivesense can decode`: decode a candump log with a DBC (and optionally a vehicle profile) into CSV or
 * JSON Lines. The adapter around src/streams/features/can: file I/O, output, progress. Streams the log
 * (memory stays flat whatever its length) and respects stdout back-pressure.
 *
 * Output rows: one per frame carrying any requested signal (a frame of another message, or one whose
 * requested signals are all absent, gives no row). Time: the frame's candump timestamp, µs since the epoch,
 * printed as `time_s` with exactly six decimals (CSV) or as `t_us` (integer) and `time_s` (JSON).
 * Absent values: empty CSV cell; key left out in JSON.
 */
import { readFile } from 'node:fs/promises';
import type { Command, ParsedArgs } from '../command.ts';
import { stringOpt, UsageError } from '../command.ts';
import { DbcParseError, decodeDbcBytes, parseDbc } from '../../streams/features/can/dbc.ts';
import type { DbcDatabase } from '../../streams/features/can/dbc.ts';
import { ProfileError, parseVehicleProfileText } from '../../streams/features/can/profile.ts';
import type { VehicleProfile } from '../../streams/features/can/profile.ts';
import { SignalExtractor } from '../../streams/features/can/signals.ts';
import { CandumpDecoder, streamCandumpFile } from '../../streams/readers/candump.ts';

const HELP = `Usage: drivesense can decode --dbc FILE --log FILE --signals NAMES [options]

Decodes a can-utils candump -l log (plain or .gz) with a DBC file and prints one row per frame that
carries any requested signal.

  --dbc FILE        DBC database (Vector format)
  --log FILE        candump -l log, plain or gzip-compressed
  --signals NAMES   comma-separated: MESSAGE.SIGNAL (DBC names; MESSAGE may be an id like 0xAA), or
                    signal names of the vehicle profile (e.g. speed,steering_angle)
  --profile FILE    vehicle profile JSON (e.g. devices/profiles/toyota-rav4-2018.json)
  --bus NAME        only frames of this bus for MESSAGE.SIGNAL names (default: the profile's bus, else any)
  --include-tx      also decode frames the logger sent (can0tx / " T") for MESSAGE.SIGNAL names
  --csv             CSV: time_s then one column per signal (the default)
  --json            JSON Lines instead: {"t_us":…,"time_s":…,"<signal>":value,…} per row
  --quiet           no progress or summary on stderr
  -h, --help        this help

Time is the candump timestamp (s since the epoch, µs resolution). Absent values are empty (CSV) or
omitted (JSON). Units: the DBC's for MESSAGE.SIGNAL, the profile's for profile names (listed on stderr).
Exit status: 0 ok, 1 I/O error, 2 bad arguments, DBC or profile.`;

/** Minimal writable: what the command writes to (process.stdout/stderr, or a test buffer). */
export interface TextSink {
  write(chunk: string): boolean;
  on(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
  off(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
}

/** The output was closed by its reader (e.g. `| head`): decoding stops early; not an error. */
export class OutputClosedError extends Error {
  override name = 'OutputClosedError';
}

export interface CanDecodeOptions {
  readonly dbcPath: string;
  readonly logPath: string;
  readonly signals: readonly string[];
  readonly profilePath?: string;
  readonly bus?: string;
  readonly includeTx?: boolean;
  readonly format: 'csv' | 'json';
  readonly quiet?: boolean;
}

export interface CanDecodeIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Wall clock for progress reports (ms); injected so tests can drive it. Default Date.now. */
  readonly nowMs?: () => number;
}

export interface CanDecodeSummary {
  readonly frames: number;
  readonly rows: number;
  readonly malformedLines: number;
}

/** Decodes a DBC file's bytes: UTF-8 when valid, else Windows-1252/Latin-1 (CANdb++ writes that). */
export async function loadDbc(path: string): Promise<DbcDatabase> {
  const bytes = await readFile(path);
  try {
    return parseDbc(decodeDbcBytes(bytes), { source: path });
  } catch (e) {
    if (e instanceof DbcParseError) throw new UsageError(`bad DBC: ${e.message}`);
    throw e;
  }
}

export async function loadProfile(path: string): Promise<VehicleProfile> {
  const text = await readFile(path, 'utf8');
  try {
    return parseVehicleProfileText(text, path);
  } catch (e) {
    if (e instanceof ProfileError) throw new UsageError(e.message);
    throw e;
  }
}

/** µs since the epoch → seconds with exactly six decimals, from the integer (no float rounding). */
export function formatTimeS(tUs: number): string {
  const neg = tUs < 0;
  const a = Math.abs(Math.round(tUs));
  const s = Math.floor(a / 1e6);
  const us = a - s * 1e6;
  return `${neg ? '-' : ''}${s}.${String(us).padStart(6, '0')}`;
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Runs the decode; resolves with counts. Throws UsageError for bad DBC/profile/signal names. */
export async function runCanDecode(opts: CanDecodeOptions, io: CanDecodeIo): Promise<CanDecodeSummary> {
  const now = io.nowMs ?? Date.now;
  const t0 = now();
  const db = await loadDbc(opts.dbcPath);
  const profile = opts.profilePath !== undefined ? await loadProfile(opts.profilePath) : undefined;
  let extractor: SignalExtractor;
  try {
    extractor = new SignalExtractor(db, opts.signals, {
      profile,
      bus: opts.bus,
      includeTx: opts.includeTx,
    });
  } catch (e) {
    if (e instanceof ProfileError) throw new UsageError(e.message);
    throw e;
  }
  const say = (s: string): void => {
    if (opts.quiet !== true) io.stderr.write(`${s}\n`);
  };
  const diag = db.diagnostics;
  if (diag.length > 0) {
    const first = diag[0]!;
    say(`dbc: ${diag.length} diagnostic(s); first: line ${first.line}: ${first.message}`);
  }
  say(
    `columns: ${extractor.columns
      .map(
        (c) =>
          `${c.name} [${c.unit || '-'}] ← ${c.message.name} 0x${c.message.id.toString(16).toUpperCase()}${c.bus !== undefined ? ` on ${c.bus}` : ''}`,
      )
      .join('; ')}`,
  );

  const cols = extractor.columns;
  const row = new Float64Array(cols.length);
  const names = cols.map((c) => c.name);
  const jsonKeys = names.map((n) => JSON.stringify(n));
  let buf = opts.format === 'csv' ? `time_s,${names.map(csvCell).join(',')}\n` : '';
  const FLUSH_AT = 1 << 16;
  let closed = false;
  const onClosed = (): void => {
    closed = true;
  };
  io.stdout.on('close', onClosed);
  io.stdout.on('error', onClosed);
  const flush = async (): Promise<void> => {
    if (closed) throw new OutputClosedError('output closed');
    if (buf.length === 0) return;
    const ok = io.stdout.write(buf);
    buf = '';
    if (!ok && !closed) {
      // Wait for drain, or for the reader to go away (then drain never comes).
      let wake = (): void => {};
      await new Promise<void>((resolve) => {
        wake = resolve;
        io.stdout.on('drain', wake);
        io.stdout.on('close', wake);
        io.stdout.on('error', wake);
      });
      io.stdout.off('drain', wake);
      io.stdout.off('close', wake);
      io.stdout.off('error', wake);
    }
    if (closed) throw new OutputClosedError('output closed');
  };

  const decoder = new CandumpDecoder();
  let frames = 0;
  let rows = 0;
  let lastReport = t0;
  try {
    await decodeLoop();
  } finally {
    io.stdout.off('close', onClosed);
    io.stdout.off('error', onClosed);
  }
  async function decodeLoop(): Promise<void> {
    for await (const f of streamCandumpFile(opts.logPath, decoder)) {
      frames++;
      if (extractor.decode(f, row)) {
        rows++;
        if (opts.format === 'csv') {
          let line = formatTimeS(f.tUs);
          for (let i = 0; i < row.length; i++) {
            const v = row[i]!;
            line += Number.isNaN(v) ? ',' : `,${v}`;
          }
          buf += `${line}\n`;
        } else {
          let line = `{"t_us":${f.tUs},"time_s":${f.tUs / 1e6}`;
          for (let i = 0; i < row.length; i++) {
            const v = row[i]!;
            if (!Number.isNaN(v)) line += `,${jsonKeys[i]}:${v}`;
          }
          buf += `${line}}\n`;
        }
        if (buf.length >= FLUSH_AT) await flush();
      }
      if ((frames & 0x3fff) === 0) {
        const t = now();
        if (t - lastReport >= 1000) {
          lastReport = t;
          say(`… ${frames} frames, ${rows} rows, ${((t - t0) / 1000).toFixed(1)} s`);
        }
      }
    }
    await flush();
  }
  const st = decoder.stats;
  const ex = extractor.stats;
  say(
    `decoded ${frames} frames (${st.malformedCount} malformed line(s)) → ${rows} rows in ${((now() - t0) / 1000).toFixed(2)} s` +
      `; skipped: ${ex.otherBus} on another bus, ${ex.txSkipped} logger-sent, ${ex.framesWithoutValues} without the signals` +
      (ex.rtrOrError > 0 ? `, ${ex.rtrOrError} remote/error frames` : ''),
  );
  for (const m of st.malformed.slice(0, 5)) say(`  line ${m.line}: ${m.reason}: ${m.text}`);
  return { frames, rows, malformedLines: st.malformedCount };
}

/** Parses command-line values into options (exported for tests). */
export function canDecodeOptionsFrom(args: ParsedArgs): CanDecodeOptions {
  const [extra] = args.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const need = (name: string): string => {
    const v = stringOpt(args, name);
    if (v === undefined || v.length === 0) throw new UsageError(`--${name} is required\n\n${HELP}`);
    return v;
  };
  const dbcPath = need('dbc');
  const logPath = need('log');
  const signals = need('signals')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (signals.length === 0) throw new UsageError('--signals names no signal');
  if (args.values['csv'] === true && args.values['json'] === true)
    throw new UsageError('--csv and --json exclude each other');
  return {
    dbcPath,
    logPath,
    signals,
    profilePath: stringOpt(args, 'profile'),
    bus: stringOpt(args, 'bus'),
    includeTx: args.values['include-tx'] === true ? true : undefined,
    format: args.values['json'] === true ? 'json' : 'csv',
    quiet: args.values['quiet'] === true,
  };
}

export const canDecodeCommand: Command = {
  name: 'can decode',
  summary: 'Decode a candump log with a DBC (and a vehicle profile) to CSV or JSON lines',
  help: HELP,
  options: {
    dbc: { type: 'string' },
    log: { type: 'string' },
    signals: { type: 'string' },
    profile: { type: 'string' },
    bus: { type: 'string' },
    'include-tx': { type: 'boolean' },
    csv: { type: 'boolean' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  async run(args) {
    const opts = canDecodeOptionsFrom(args);
    // Without a listener an EPIPE (`… | head`) would crash the process; runCanDecode sees the error too.
    let outputError: NodeJS.ErrnoException | undefined;
    const onError = (e: NodeJS.ErrnoException): void => {
      outputError = e;
    };
    process.stdout.on('error', onError);
    try {
      await runCanDecode(opts, { stdout: process.stdout, stderr: process.stderr });
    } catch (e) {
      if (!(e instanceof OutputClosedError)) throw e;
    } finally {
      process.stdout.off('error', onError);
    }
    if (outputError !== undefined && outputError.code !== 'EPIPE') throw outputError;
    return 0;
  },
};
