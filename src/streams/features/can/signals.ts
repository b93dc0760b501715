/**
 * Signal extraction: frames in, rows of requested signal values out (what `drivesense can decode` prints,
 * and what the driving features consume).
 *
 * A requested name is either `MESSAGE.SIGNAL` (DBC names; MESSAGE may also be the id as 0x… or decimal),
 * giving the DBC's physical value in the DBC's unit, or the name of a vehicle-profile signal (`speed`,
 * `steering_angle`, …; see profile.ts), giving the profile's derived value in the profile's unit.
 *
 * One frame → at most one row: `decode(frame, row)` returns true when the frame carries at least one
 * requested value, and then `row[c]` holds column c's value or NaN where this frame does not carry it.
 * Each message is decoded at most once per frame whatever the number of columns it feeds.
 *
 * Frame selection: a column has a bus filter (profile/`bus` option; undefined = any bus) and a tx policy
 * (frames the logger sent are skipped unless included). Remote (RTR) and error frames carry no signal data
 * and are never decoded.
 */
import type { CanFrame } from '../../contracts/messages.ts';
import type { DbcDatabase, DbcMessage, DbcSignal } from './dbc.ts';
import type { CompiledMessage } from './decoder.ts';
import { compileMessage } from './decoder.ts';
import type { ResolvedProfileSignal, VehicleProfile } from './profile.ts';
import { lookupSignal, ProfileError, resolveProfileSignal } from './profile.ts';
import type { LinearConversion } from './units.ts';
import { IDENTITY } from './units.ts';

/** What the extractor needs of a frame (a `CandumpFrame` fits). */
export interface FrameInput {
  readonly bus: string;
  readonly tx: boolean;
  readonly id: number;
  readonly extended: boolean;
  readonly rtr?: boolean;
  readonly errorFrame?: boolean;
  readonly data: Uint8Array;
}

/**
 * A frame from the wire (contracts: numeric bus) as the extractor sees it: bus `can{N}` (the names vehicle
 * profiles use), never sent by us.
 */
export function wireFrameInput(f: CanFrame): FrameInput {
  return {
    bus: `can${f.bus}`,
    tx: false,
    id: f.id,
    extended: f.extended,
    rtr: f.rtr,
    errorFrame: f.errorFrame,
    data: f.data,
  };
}

export interface ExtractorColumn {
  /** As requested (`speed`, `WHEEL_SPEEDS.WHEEL_SPEED_FL`). */
  readonly name: string;
  readonly unit: string;
  readonly kind: 'dbc' | 'profile';
  readonly message: DbcMessage;
  /** Bus filter (undefined = any). */
  readonly bus: string | undefined;
  readonly includeTx: boolean;
  /** Profile signals: active when value > threshold (brake, throttle). */
  readonly activeThreshold: number | undefined;
  readonly description: string | undefined;
}

export interface ExtractorOptions {
  readonly profile?: VehicleProfile;
  /** Bus filter for MESSAGE.SIGNAL columns; default the profile's bus, else any bus. */
  readonly bus?: string;
  /** Include logger-sent frames for MESSAGE.SIGNAL columns; default the profile's setting, else false. */
  readonly includeTx?: boolean;
  readonly codegen?: boolean;
}

export interface ExtractorStats {
  /** Frames passed to decode(). */
  frames: number;
  /** Frames that produced a row. */
  rows: number;
  /** Frames of a requested message (bus and tx matching) in which no requested value was present. */
  framesWithoutValues: number;
  /** Frames of a requested message skipped because they were sent by the logger. */
  txSkipped: number;
  /** Frames of a requested message on another bus. */
  otherBus: number;
  /** Remote and error frames with a requested id (never decoded). */
  rtrOrError: number;
}

interface Binding {
  readonly col: number;
  readonly bus: string | undefined;
  readonly includeTx: boolean;
  /** Indices into the compiled message's output. */
  readonly inputs: Int32Array;
  readonly conversions: readonly LinearConversion[];
  readonly combine: 'mean' | 'sum' | 'min' | 'max' | undefined;
  readonly scale: number;
  readonly offset: number;
}

interface Entry {
  readonly compiled: CompiledMessage;
  readonly out: Float64Array;
  readonly bindings: readonly Binding[];
}

function frameKey(id: number, extended: boolean): number {
  return extended ? id + 0x100000000 : id;
}

export class SignalExtractor {
  readonly columns: readonly ExtractorColumn[];
  readonly stats: ExtractorStats = {
    frames: 0,
    rows: 0,
    framesWithoutValues: 0,
    txSkipped: 0,
    otherBus: 0,
    rtrOrError: 0,
  };
  readonly #entries = new Map<number, Entry>();

  constructor(db: DbcDatabase, names: readonly string[], options: ExtractorOptions = {}) {
    if (names.length === 0) throw new ProfileError('no signals requested');
    const profile = options.profile;
    interface Pending {
      readonly column: ExtractorColumn;
      readonly inputs: readonly DbcSignal[];
      readonly conversions: readonly LinearConversion[];
      readonly combine: Binding['combine'];
      readonly scale: number;
      readonly offset: number;
    }
    const pending: Pending[] = [];
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) throw new ProfileError(`signal "${name}" requested twice`);
      seen.add(name);
      if (name.includes('.')) {
        const { message, signal } = lookupSignal(db, name);
        pending.push({
          column: {
            name,
            unit: signal.unit,
            kind: 'dbc',
            message,
            bus: options.bus ?? profile?.bus,
            includeTx: options.includeTx ?? profile?.includeTx ?? false,
            activeThreshold: undefined,
            description: signal.comment,
          },
          inputs: [signal],
          conversions: [IDENTITY],
          combine: undefined,
          scale: 1,
          offset: 0,
        });
      } else {
        if (profile === undefined)
          throw new ProfileError(
            `"${name}" is not MESSAGE.SIGNAL, and no vehicle profile was given to define it`,
          );
        const r: ResolvedProfileSignal = resolveProfileSignal(profile, name, db);
        pending.push({
          column: {
            name,
            unit: r.unit,
            kind: 'profile',
            message: r.message,
            bus: r.bus,
            includeTx: r.includeTx,
            activeThreshold: r.activeThreshold,
            description: r.description,
          },
          inputs: r.inputs,
          conversions: r.conversions,
          combine: r.combine,
          scale: r.scale,
          offset: r.offset,
        });
      }
    }
    this.columns = pending.map((p) => p.column);
    // One compiled decoder per message, over the union of the signals its columns need.
    const byMessage = new Map<DbcMessage, Pending[]>();
    for (const p of pending) {
      const list = byMessage.get(p.column.message) ?? [];
      list.push(p);
      byMessage.set(p.column.message, list);
    }
    for (const [message, list] of byMessage) {
      const signalNames = [...new Set(list.flatMap((p) => p.inputs.map((s) => s.name)))];
      const compiled = compileMessage(message, { signals: signalNames, codegen: options.codegen });
      const bindings = list.map((p): Binding => ({
        col: pending.indexOf(p),
        bus: p.column.bus,
        includeTx: p.column.includeTx,
        inputs: Int32Array.from(p.inputs.map((s) => compiled.indexOf.get(s.name)!)),
        conversions: p.conversions,
        combine: p.combine,
        scale: p.scale,
        offset: p.offset,
      }));
      this.#entries.set(frameKey(message.id, message.extended), {
        compiled,
        out: new Float64Array(compiled.signals.length),
        bindings,
      });
    }
  }

  /**
   * Decodes one frame into `row` (length ≥ columns.length). Returns whether the frame carries at least one
   * requested value; `row` is only written for frames of a requested message.
   */
  decode(frame: FrameInput, row: Float64Array): boolean {
    const st = this.stats;
    st.frames++;
    const e = this.#entries.get(frameKey(frame.id, frame.extended));
    if (e === undefined) return false;
    if (frame.rtr === true || frame.errorFrame === true) {
      st.rtrOrError++;
      return false;
    }
    let decoded = false;
    let any = false;
    let matched = false;
    let busMismatch = false;
    row.fill(NaN, 0, this.columns.length);
    for (const b of e.bindings) {
      if (b.bus !== undefined && b.bus !== frame.bus) {
        busMismatch = true;
        continue;
      }
      if (frame.tx && !b.includeTx) continue;
      matched = true;
      if (!decoded) {
        e.compiled.decode(frame.data, e.out);
        decoded = true;
      }
      const v = evaluate(b, e.out);
      row[b.col] = v;
      if (!Number.isNaN(v)) any = true;
    }
    // Per frame: a frame no column took is counted once, as on another bus or as logger-sent.
    if (any) st.rows++;
    else if (matched) st.framesWithoutValues++;
    else if (busMismatch) st.otherBus++;
    else st.txSkipped++;
    return any;
  }
}

function evaluate(b: Binding, out: Float64Array): number {
  const n = b.inputs.length;
  let acc: number;
  if (n === 1) acc = convert(b.conversions[0]!, out[b.inputs[0]!]!);
  else {
    const c = b.combine;
    acc = c === 'min' ? Infinity : c === 'max' ? -Infinity : 0;
    for (let i = 0; i < n; i++) {
      const v = convert(b.conversions[i]!, out[b.inputs[i]!]!);
      if (Number.isNaN(v)) return NaN;
      if (c === 'min') acc = v < acc ? v : acc;
      else if (c === 'max') acc = v > acc ? v : acc;
      else acc += v;
    }
    if (c === 'mean') acc /= n;
  }
  return b.scale === 1 && b.offset === 0 ? acc : acc * b.scale + b.offset;
}

function convert(c: LinearConversion, v: number): number {
  if (c.multiply === 1 && c.divide === 1 && c.offset === 0) return v;
  return (v * c.multiply) / c.divide + c.offset;
}
