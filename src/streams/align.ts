import type { OperatorFunction } from 'rxjs';
import { WindowBuffer, checkTime, isWatermark, machineOperator, resolveWindowSpec } from './windows.ts';
import type { Aggregator, ClosedWindow, Watermark, WindowSpec } from './windows.ts';

/**
 * Aligns the streams of ONE vehicle (ECG chunks every 250 ms, CAN batches every 100 ms, weather every
 * 60 s, camera frames at 30 fps, …) onto common event-time windows: one record per window, each stream
 * either present with its own summary or visibly absent (`idle` or `no-data`), never zeros.
 *
 * Windows, lateness, late items, empty-window caps, punctuation and time conventions are those of
 * `eventTimeWindows` (windows.ts): µs since the epoch, windows [startUs, endUs) on an epoch-aligned grid,
 * items assigned whole by their start time `tUs`; `endUs` (default `tUs`) is where a chunk's data ends.
 *
 * Vehicle watermark
 * - Per stream, `lastUs` = the latest `endUs` seen. The vehicle's time V = the latest `endUs` of any stream
 *   or punctuation (all streams of a vehicle are assumed to share its clock).
 * - A stream is idle while V − lastUs > its `idleMs` (a stream never seen counts from the vehicle's first
 *   event, so at start-up every stream gets `idleMs` to show up). Idle streams are reported in
 *   `idleStreams`; the state is re-evaluated on every input and clears when the stream's data catches up.
 * - Watermark = the MIN of `lastUs` over streams that hold the watermark and are not idle (V when there are
 *   none), raised to at least the latest punctuation, never decreasing. One dead sensor therefore holds
 *   windows back for at most its `idleMs`, then stops mattering. Low-rate context streams (weather) take
 *   `holdsWatermark: false`: they never hold windows open and land in whichever window their time falls in.
 * - Punctuation (`watermark(tUs)` in-band) advances both V and the watermark: with a vehicle entirely
 *   silent, it is what makes streams idle and closes windows.
 *
 * Absent streams in a record: `idle` when the window overlaps a silence of the stream long enough to make it
 * idle (the current one, or the last one before it came back); otherwise `no-data` (e.g. weather between
 * two readings). Only the last past silence per stream is remembered, which is exact unless a stream goes
 * idle twice within one window's size + lateness.
 *
 * Routing: one `alignStreams` per vehicle; the caller routes with `groupBy(vehicle)` +
 * `mergeMap(group => group.pipe(…, alignStreams(opts)))`. State is per subscription.
 * Memory: the window bound of windows.ts (each window holds one accumulator per present stream) plus O(1)
 * per stream. Pure: no clock, no I/O; emits synchronously on input; flushes on completion; errors as in
 * windows.ts (an unknown stream tag is a contract breach and errors the output).
 */

export interface StreamSpec<T, A> {
  readonly aggregator: Aggregator<T, A>;
  /** Event-time silence (ms, > 0, may be Infinity) after which the stream is idle. */
  readonly idleMs: number;
  /** Whether the stream holds the vehicle watermark back while active. Default true. */
  readonly holdsWatermark?: boolean;
}

/** Per-stream specs by stream name (`Aggregator` methods are bivariant, so any item/summary type fits). */
export type StreamSpecs = Readonly<Record<string, StreamSpec<unknown, unknown>>>;

export type StreamName<C extends StreamSpecs> = keyof C & string;
export type ItemOf<S> = S extends StreamSpec<infer T, unknown> ? T : never;
export type SummaryOf<S> = S extends StreamSpec<unknown, infer A> ? A : never;

export interface Tagged<K extends string, T> {
  readonly stream: K;
  /** First-sample time, µs since the epoch. */
  readonly tUs: number;
  /** End of the item's data (exclusive), µs; default `tUs`. */
  readonly endUs?: number;
  readonly item: T;
}

/** One input item of any configured stream, its `item` typed by that stream's aggregator. */
export type TaggedItem<C extends StreamSpecs> = {
  [K in StreamName<C>]: Tagged<K, ItemOf<C[K]>>;
}[StreamName<C>];

export type StreamPresence<A> =
  | { readonly present: true; readonly count: number; readonly summary: A }
  | { readonly present: false; readonly reason: 'idle' | 'no-data' };

export interface AlignedWindow<C extends StreamSpecs> {
  readonly startUs: number;
  readonly endUs: number;
  /** Every configured stream, in config order. */
  readonly streams: { readonly [K in StreamName<C>]: StreamPresence<SummaryOf<C[K]>> };
  /** The vehicle watermark when the window was emitted. */
  readonly watermarkUs: number;
  /** Late items dropped since the previous record, in total and per stream. */
  readonly lateDropped: number;
  readonly lateDroppedByStream: { readonly [K in StreamName<C>]: number };
  /** Streams idle when the record was emitted, in config order (diff consecutive records for changes). */
  readonly idleStreams: readonly StreamName<C>[];
  /** Empty windows just before this one that were not emitted (see `maxEmptyWindows`). */
  readonly skippedEmptyWindows: number;
}

export interface AlignOptions<C extends StreamSpecs> extends WindowSpec {
  readonly streams: C;
}

interface StreamState {
  readonly name: string;
  readonly spec: StreamSpec<unknown, unknown>;
  readonly idleUs: number;
  readonly holdsWatermark: boolean;
  /** Latest end time seen; undefined until the stream's first item. */
  lastUs: number | undefined;
  idle: boolean;
  /** The last silence that made the stream idle and has ended: [fromUs, toUs). */
  lastSilence: { readonly fromUs: number; readonly toUs: number } | undefined;
  /** Late items since the previous record. */
  lateDropped: number;
}

type Slot = { count: number; summary: unknown };

/**
 * @example
 * const align = alignStreams({
 *   sizeMs: 1000, allowedLatenessMs: 200,
 *   streams: {
 *     ecg: { aggregator: ecgSummary, idleMs: 2000 },
 *     can: { aggregator: canSummary, idleMs: 1000 },
 *     weather: { aggregator: weatherSummary, idleMs: 15 * 60_000, holdsWatermark: false },
 *   },
 * });
 * vehicleItems$.pipe(align); // { stream: 'ecg', tUs, endUs, item } | watermark(tUs)
 */
export function alignStreams<C extends StreamSpecs>(
  options: AlignOptions<C>,
): OperatorFunction<TaggedItem<C> | Watermark, AlignedWindow<C>> {
  const grid = resolveWindowSpec(options);
  const specs = Object.entries(options.streams);
  if (specs.length === 0) throw new RangeError('alignStreams needs at least one stream');
  for (const [name, spec] of specs) {
    if (!(spec.idleMs > 0)) throw new RangeError(`streams.${name}.idleMs must be > 0, got ${spec.idleMs}`);
  }

  return machineOperator<TaggedItem<C> | Watermark, AlignedWindow<C>>((emit) => {
    const states: StreamState[] = specs.map(([name, spec]) => ({
      name,
      spec,
      idleUs: spec.idleMs * 1000,
      holdsWatermark: spec.holdsWatermark ?? true,
      lastUs: undefined,
      idle: false,
      lastSilence: undefined,
      lateDropped: 0,
    }));
    const byName = new Map(states.map((s) => [s.name, s]));
    const buffer = new WindowBuffer<Map<string, Slot>>(grid, () => new Map());
    let firstUs: number | undefined; // the vehicle's first event time
    let vehicleUs = -Infinity; // V: latest end time of any stream or punctuation
    let punctuationUs = -Infinity;

    /** Re-evaluates idleness; returns the watermark candidate (the buffer keeps it monotone). */
    const refresh = (): number => {
      let heldUs = Infinity;
      for (const s of states) {
        s.idle = vehicleUs - (s.lastUs ?? firstUs ?? vehicleUs) > s.idleUs;
        if (s.holdsWatermark && !s.idle) heldUs = Math.min(heldUs, s.lastUs ?? -Infinity);
      }
      return Math.max(punctuationUs, heldUs === Infinity ? vehicleUs : heldUs);
    };

    const reason = (s: StreamState, w: ClosedWindow<unknown>): 'idle' | 'no-data' => {
      if (s.idle && w.endUs > (s.lastUs ?? firstUs ?? -Infinity)) return 'idle';
      const gap = s.lastSilence;
      return gap !== undefined && w.startUs < gap.toUs && w.endUs > gap.fromUs ? 'idle' : 'no-data';
    };

    const emitWindow = (w: ClosedWindow<Map<string, Slot>>): void => {
      let lateDropped = 0;
      const streams = states.map((s): [string, StreamPresence<unknown>] => {
        const slot = w.state?.get(s.name);
        return [
          s.name,
          slot === undefined
            ? { present: false, reason: reason(s, w) }
            : { present: true, count: slot.count, summary: slot.summary },
        ];
      });
      const lateByStream = states.map((s): [string, number] => {
        const n = s.lateDropped;
        lateDropped += n;
        s.lateDropped = 0;
        return [s.name, n];
      });
      const record = {
        startUs: w.startUs,
        endUs: w.endUs,
        streams: Object.fromEntries(streams),
        watermarkUs: buffer.watermarkUs,
        lateDropped,
        lateDroppedByStream: Object.fromEntries(lateByStream),
        idleStreams: states.filter((s) => s.idle).map((s) => s.name),
        skippedEmptyWindows: w.skippedEmptyWindows,
      };
      // The records are built from `options.streams`' own keys and the aggregators' values, which is what
      // the mapped types state; TypeScript cannot follow that through Object.fromEntries.
      emit(record as unknown as AlignedWindow<C>);
    };

    return {
      next(input) {
        if (isWatermark(input)) {
          const tUs = checkTime(input.tUs, 'watermark tUs');
          firstUs ??= tUs;
          punctuationUs = Math.max(punctuationUs, tUs);
          vehicleUs = Math.max(vehicleUs, tUs);
          buffer.advance(refresh(), emitWindow);
          return;
        }
        const s = byName.get(input.stream);
        if (s === undefined) throw new RangeError(`unknown stream '${String(input.stream)}'`);
        const tUs = checkTime(input.tUs, `${s.name} tUs`);
        const endUs = input.endUs === undefined ? tUs : checkTime(input.endUs, `${s.name} endUs`);
        if (endUs < tUs) throw new RangeError(`${s.name} endUs ${endUs} is before tUs ${tUs}`);

        const windows = buffer.windowsFor(tUs);
        if (windows.length === 0) s.lateDropped += 1;
        for (const window of windows) {
          let slot = window.get(s.name);
          if (slot === undefined) {
            slot = { count: 0, summary: s.spec.aggregator.create() };
            window.set(s.name, slot);
          }
          slot.count += 1;
          slot.summary = s.spec.aggregator.add(slot.summary, input.item);
        }

        firstUs ??= tUs;
        const silentSinceUs = s.lastUs ?? firstUs;
        const wasIdle = s.idle;
        s.lastUs = Math.max(s.lastUs ?? -Infinity, endUs);
        vehicleUs = Math.max(vehicleUs, endUs);
        const watermarkUs = refresh();
        if (wasIdle && !s.idle) s.lastSilence = { fromUs: silentSinceUs, toUs: tUs };
        buffer.advance(watermarkUs, emitWindow);
      },
      complete() {
        buffer.flush(
          emitWindow,
          states.some((s) => s.lateDropped > 0),
        );
      },
    };
  });
}
