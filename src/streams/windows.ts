import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';

/**
 * Event-time windows: tumbling and sliding, with a watermark, allowed lateness and punctuation.
 *
 * Time conventions
 * - Event times are µs since the Unix epoch as JS numbers (`tUs`); integer µs are exact up to 2^53
 *   (the year 2255). Config durations are ms (`sizeMs`, `slideMs`, `allowedLatenessMs`).
 * - A window is [startUs, endUs): start inclusive, end exclusive. Windows sit on a grid aligned to the
 *   epoch: startUs = k · slide, endUs = startUs + size. Tumbling: slide = size. Sliding: size = n · slide.
 * - An item belongs to every window that contains its time `timeOf(item)` (its first sample). A chunk that
 *   spans a window boundary is assigned whole, by its start time: standard practice for chunks of at most a
 *   few hundred ms (ECG, audio, CAN batches); split chunks upstream where sample-exact windows matter.
 *
 * Watermark
 * - W = the largest of every item's end time (`endTimeOf(item)`, else `timeOf(item)`) and every punctuation
 *   (`Watermark.tUs`) seen so far; it never decreases. W reads "data before W has arrived, except
 *   stragglers within the allowed lateness".
 * - Window [s, e) closes when W ≥ e + allowedLateness and is then emitted, exactly once. Windows are emitted
 *   in time order, including empty ones (count 0) between data, so a gap stays visible.
 * - An item is late when every window containing it has closed (as in Flink, this includes windows that
 *   closed before any item reached them). Late items are dropped and counted in `lateDropped` of the next
 *   emitted result; never lost silently, never an error. In sliding mode, an item some of whose windows are
 *   still open goes into those and is not counted as late.
 *
 * Punctuation: a source can advance W without data by emitting `watermark(tUs)` in-band (the operator
 * consumes `T | Watermark`), e.g. `merge(data$, heartbeat$.pipe(map((h) => watermark(h.tUs))))`. In-band
 * keeps data and punctuation in one deterministic order. `T` itself must not be a `{ kind: 'watermark' }`.
 *
 * Bounds
 * - Memory: only windows holding data are stored, at most ceil((size + lateness) / slide) + 1 of them.
 * - Output per input: a jump of W (days of silence, a clock step) would close millions of empty windows.
 *   A run of more than `maxEmptyWindows` empty windows closed by one input emits its first
 *   `maxEmptyWindows - 1` and its last; that last one carries `skippedEmptyWindows`, the number of empty
 *   windows left out just before it. Work per input is O(emitted windows × open windows).
 *
 * Purity and lifecycle: no clock, no scheduler, no I/O. Output is emitted synchronously while handling an
 * input, so live, replay and virtual-time tests behave alike. State is per subscription. On source
 * completion every window holding data is emitted (with the empty ones between), then the output completes;
 * if late items are still unreported and no window is left, the next (empty) window is emitted to carry them.
 * A source error is forwarded as is (open windows are discarded). A contract breach (a non-finite time, an
 * end before its start, a throwing aggregator) errors the output. Not re-entrant: a consumer must not feed
 * the source synchronously from inside its `next`.
 */

/** Punctuation: "event time has reached `tUs`", sent in-band with the data. */
export interface Watermark {
  readonly kind: 'watermark';
  readonly tUs: number;
}

export function watermark(tUs: number): Watermark {
  return { kind: 'watermark', tUs };
}

export function isWatermark(value: unknown): value is Watermark {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'watermark' &&
    typeof (value as { tUs?: unknown }).tUs === 'number'
  );
}

/** Folds the items of one window. Each window gets its own accumulator, which `add` may mutate. */
export interface Aggregator<T, A> {
  create(): A;
  add(acc: A, item: T): A;
}

export interface WindowSpec {
  readonly sizeMs: number;
  /** Default `sizeMs` (tumbling). Must divide `sizeMs`. */
  readonly slideMs?: number;
  /** How long after its end a window waits for stragglers, in event time. Default 0. */
  readonly allowedLatenessMs?: number;
  /** Most empty windows emitted in a row for one input (≥ 1). Default 100. */
  readonly maxEmptyWindows?: number;
}

/** A validated `WindowSpec` in µs. */
export interface WindowGrid {
  readonly sizeUs: number;
  readonly slideUs: number;
  readonly latenessUs: number;
  readonly maxEmptyWindows: number;
}

const DEFAULT_MAX_EMPTY_WINDOWS = 100;

function msToUs(name: string, ms: number, min: number): number {
  const us = Math.round(ms * 1000);
  if (!Number.isFinite(ms) || us < min)
    throw new RangeError(`${name} must be a finite number ≥ ${min} µs, got ${ms} ms`);
  return us;
}

/** Validates a window spec; throws a RangeError naming the bad field (config errors surface at start-up). */
export function resolveWindowSpec(spec: WindowSpec): WindowGrid {
  const sizeUs = msToUs('sizeMs', spec.sizeMs, 1);
  const slideUs = spec.slideMs === undefined ? sizeUs : msToUs('slideMs', spec.slideMs, 1);
  if (slideUs > sizeUs || sizeUs % slideUs !== 0) {
    throw new RangeError(`sizeMs (${spec.sizeMs}) must be a whole multiple of slideMs (${spec.slideMs})`);
  }
  const latenessUs = msToUs('allowedLatenessMs', spec.allowedLatenessMs ?? 0, 0);
  const maxEmptyWindows = spec.maxEmptyWindows ?? DEFAULT_MAX_EMPTY_WINDOWS;
  if (!Number.isInteger(maxEmptyWindows) || maxEmptyWindows < 1) {
    throw new RangeError(`maxEmptyWindows must be an integer ≥ 1, got ${maxEmptyWindows}`);
  }
  return { sizeUs, slideUs, latenessUs, maxEmptyWindows };
}

/** The grid point at or before `tUs` (exact for integer µs; `%` on doubles is exact). */
function floorToGrid(tUs: number, stepUs: number): number {
  return tUs - (((tUs % stepUs) + stepUs) % stepUs);
}

/** Throws unless `tUs` is a finite number; returns it. */
export function checkTime(tUs: number, what: string): number {
  if (!Number.isFinite(tUs)) throw new RangeError(`${what} must be a finite time in µs, got ${tUs}`);
  return tUs;
}

/** A window leaving the buffer: `state` is undefined for a window no item reached. */
export interface ClosedWindow<S> {
  readonly startUs: number;
  readonly endUs: number;
  readonly state: S | undefined;
  readonly skippedEmptyWindows: number;
}

/**
 * The window bookkeeping shared by the operators here: grid, watermark, open windows, emission order and
 * the caps described at the top of this file. Generic in the per-window state `S`, created lazily on the
 * first item. Synchronous and pure; the caller decides what a window's state is and what to emit.
 */
export class WindowBuffer<S extends object> {
  readonly grid: WindowGrid;
  readonly #create: () => S;
  /** Windows holding data, by startUs; every key ≥ #nextStartUs. */
  readonly #open = new Map<number, S>();
  /** Start of the earliest window not yet emitted; undefined until the first non-late item. */
  #nextStartUs: number | undefined;
  #watermarkUs = -Infinity;

  constructor(grid: WindowGrid, create: () => S) {
    this.grid = grid;
    this.#create = create;
  }

  get watermarkUs(): number {
    return this.#watermarkUs;
  }

  /** Number of windows holding data; ≤ ceil((size + lateness) / slide) + 1 between calls. */
  get openWindowCount(): number {
    return this.#open.size;
  }

  /**
   * The states of the still-open windows containing `tUs`, oldest first, created as needed. Empty when
   * the item is late (every window containing it has closed).
   */
  windowsFor(tUs: number): S[] {
    const { sizeUs, slideUs } = this.grid;
    const lastStartUs = floorToGrid(tUs, slideUs);
    const firstStartUs = Math.max(lastStartUs - sizeUs + slideUs, this.#firstOpenStartUs());
    const states: S[] = [];
    if (firstStartUs > lastStartUs) return states;
    // Before the first emission an out-of-order item may open an earlier window; afterwards
    // #nextStartUs equals the first open start, so this never lowers it below an emitted window.
    if (this.#nextStartUs === undefined || firstStartUs < this.#nextStartUs) this.#nextStartUs = firstStartUs;
    for (let startUs = firstStartUs; startUs <= lastStartUs; startUs += slideUs) {
      let state = this.#open.get(startUs);
      if (state === undefined) {
        state = this.#create();
        this.#open.set(startUs, state);
      }
      states.push(state);
    }
    return states;
  }

  /** Raises the watermark (a lower value is ignored) and emits, in order, every window it closes. */
  advance(watermarkUs: number, emit: (window: ClosedWindow<S>) => void): void {
    if (!(watermarkUs > this.#watermarkUs)) return;
    this.#watermarkUs = watermarkUs;
    const { sizeUs, latenessUs } = this.grid;
    this.#emitThrough(watermarkUs - sizeUs - latenessUs, emit);
  }

  /**
   * End of input: emits every window up to the last one holding data, in order. With `atLeastOne`, when
   * no window remains, emits the next (empty) window anyway, so counts the caller attaches to emissions
   * (late items) are never lost.
   */
  flush(emit: (window: ClosedWindow<S>) => void, atLeastOne: boolean): void {
    let lastUs = -Infinity;
    for (const startUs of this.#open.keys()) lastUs = Math.max(lastUs, startUs);
    if (lastUs > -Infinity) {
      this.#emitThrough(lastUs, emit);
      return;
    }
    const startUs = this.#nextStartUs ?? this.#firstOpenStartUs();
    if (atLeastOne && Number.isFinite(startUs)) {
      this.#nextStartUs = startUs + this.grid.slideUs;
      emit({ startUs, endUs: startUs + this.grid.sizeUs, state: undefined, skippedEmptyWindows: 0 });
    }
  }

  /** The earliest window start the current watermark has not closed (-Infinity before any watermark). */
  #firstOpenStartUs(): number {
    const { sizeUs, slideUs, latenessUs } = this.grid;
    const closedThroughUs = this.#watermarkUs - sizeUs - latenessUs;
    return closedThroughUs === -Infinity ? -Infinity : floorToGrid(closedThroughUs, slideUs) + slideUs;
  }

  /** Emits, in order, the windows starting at or before `limitUs`, capping runs of empty ones. */
  #emitThrough(limitUs: number, emit: (window: ClosedWindow<S>) => void): void {
    const { sizeUs, slideUs, maxEmptyWindows } = this.grid;
    const lastUs = floorToGrid(limitUs, slideUs);
    const emitEmpty = (startUs: number, skippedEmptyWindows: number): void => {
      this.#nextStartUs = startUs + slideUs;
      emit({ startUs, endUs: startUs + sizeUs, state: undefined, skippedEmptyWindows });
    };
    while (this.#nextStartUs !== undefined && this.#nextStartUs <= lastUs) {
      const startUs: number = this.#nextStartUs;
      const state = this.#open.get(startUs);
      if (state !== undefined) {
        this.#open.delete(startUs);
        this.#nextStartUs = startUs + slideUs;
        emit({ startUs, endUs: startUs + sizeUs, state, skippedEmptyWindows: 0 });
        continue;
      }
      // A run of empty windows, up to the next window holding data or the limit.
      let nextDataUs = Infinity;
      for (const openUs of this.#open.keys()) nextDataUs = Math.min(nextDataUs, openUs);
      const runLastUs = Math.min(lastUs, nextDataUs - slideUs);
      const runLength = (runLastUs - startUs) / slideUs + 1;
      const shown = Math.min(runLength, maxEmptyWindows);
      for (let i = 0; i < shown - 1; i++) emitEmpty(startUs + i * slideUs, 0);
      emitEmpty(runLastUs, runLength - shown);
    }
  }
}

/** A per-subscription state machine fed the source's notifications in order. */
export interface Machine<I> {
  next(input: I): void;
  complete(): void;
}

/**
 * Turns a state-machine factory into an operator: one machine per subscription, outputs emitted
 * synchronously through `emit`; anything the machine throws errors the output and unsubscribes the source.
 */
export function machineOperator<I, O>(
  create: (emit: (output: O) => void) => Machine<I>,
): OperatorFunction<I, O> {
  return (source) =>
    new Observable<O>((subscriber) => {
      const machine = create((output) => subscriber.next(output));
      const guarded = (step: () => void): void => {
        if (subscriber.closed) return;
        try {
          step();
        } catch (err) {
          subscriber.error(err);
        }
      };
      return source.subscribe({
        next: (input) => guarded(() => machine.next(input)),
        error: (err: unknown) => subscriber.error(err),
        complete: () =>
          guarded(() => {
            machine.complete();
            subscriber.complete();
          }),
      });
    });
}

export interface EventTimeWindowOptions<T, A> extends WindowSpec {
  /** The item's event time in µs (its first sample). */
  readonly timeOf: (item: T) => number;
  /** Where the item's data ends, exclusive, in µs (≥ timeOf); advances the watermark. Default `timeOf`. */
  readonly endTimeOf?: (item: T) => number;
  readonly aggregator: Aggregator<T, A>;
}

export interface WindowResult<A> {
  readonly startUs: number;
  readonly endUs: number;
  /** Items added to this window. */
  readonly count: number;
  /** The aggregator's accumulator; `create()` for an empty window. Owned by the consumer from now on. */
  readonly summary: A;
  /** Late items dropped since the previous emitted result. */
  readonly lateDropped: number;
  /** Empty windows just before this one that were not emitted (see `maxEmptyWindows`). */
  readonly skippedEmptyWindows: number;
  /** The watermark when the window was emitted (below endUs + lateness only in the final flush). */
  readonly watermarkUs: number;
}

interface Slot<A> {
  count: number;
  summary: A;
}

/**
 * Event-time tumbling or sliding windows over `T`, with in-band punctuation; see the top of this file.
 *
 * @example
 * readings$.pipe(
 *   eventTimeWindows({
 *     sizeMs: 5000, slideMs: 1000, allowedLatenessMs: 500,
 *     timeOf: (m) => m.tUs, endTimeOf: (m) => m.endUs,
 *     aggregator: { create: () => ({ n: 0 }), add: (acc, m) => { acc.n += m.samples; return acc; } },
 *   }),
 * );
 */
export function eventTimeWindows<T, A>(
  options: EventTimeWindowOptions<T, A>,
): OperatorFunction<T | Watermark, WindowResult<A>> {
  const grid = resolveWindowSpec(options);
  const { timeOf, endTimeOf, aggregator } = options;
  return machineOperator<T | Watermark, WindowResult<A>>((emit) => {
    const buffer = new WindowBuffer<Slot<A>>(grid, () => ({ count: 0, summary: aggregator.create() }));
    let lateDropped = 0;
    const emitWindow = (window: ClosedWindow<Slot<A>>): void => {
      const result: WindowResult<A> = {
        startUs: window.startUs,
        endUs: window.endUs,
        count: window.state?.count ?? 0,
        summary: window.state === undefined ? aggregator.create() : window.state.summary,
        lateDropped,
        skippedEmptyWindows: window.skippedEmptyWindows,
        watermarkUs: buffer.watermarkUs,
      };
      lateDropped = 0;
      emit(result);
    };
    return {
      next(input) {
        if (isWatermark(input)) {
          buffer.advance(checkTime(input.tUs, 'watermark tUs'), emitWindow);
          return;
        }
        const tUs = checkTime(timeOf(input), 'timeOf(item)');
        const endUs = endTimeOf === undefined ? tUs : checkTime(endTimeOf(input), 'endTimeOf(item)');
        if (endUs < tUs) throw new RangeError(`endTimeOf(item) ${endUs} is before timeOf(item) ${tUs}`);
        const slots = buffer.windowsFor(tUs);
        if (slots.length === 0) lateDropped += 1;
        for (const slot of slots) {
          slot.count += 1;
          slot.summary = aggregator.add(slot.summary, input);
        }
        buffer.advance(endUs, emitWindow);
      },
      complete() {
        buffer.flush(emitWindow, lateDropped > 0);
      },
    };
  });
}
