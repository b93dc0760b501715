import type { Observable, SchedulerLike, Subscription } from 'rxjs';
import {
  endWith,
  filter,
  groupBy,
  ignoreElements,
  interval,
  map,
  merge,
  mergeMap,
  share,
  Subject,
  takeUntil,
  tap,
} from 'rxjs';
import type { Config } from './config/schema.ts';
import { alertSchema, encodeJson, statusSchema } from './streams/contracts/outputs.ts';
import type { Alert } from './streams/contracts/outputs.ts';
import type { InputStream } from './streams/contracts/topics.ts';
import { INPUT_STREAMS, QOS, topicFor } from './streams/contracts/topics.ts';
import type { DecodedEvent, IngestEvent, InvalidEvent, RawMessage } from './streams/ingest.ts';
import { decodeAndTrack } from './streams/ingest.ts';
import type { StreamSpec, TaggedItem } from './streams/align.ts';
import { alignStreams } from './streams/align.ts';
import { SensorFaultRule } from './streams/rules/sensor-fault.ts';
import { StatusTracker } from './streams/status-tracker.ts';
import type { StreamSummary } from './streams/summary.ts';
import { addEvent, emptySummary } from './streams/summary.ts';
import type { Watermark } from './streams/windows.ts';
import { watermark } from './streams/windows.ts';
import { alertPoint, featurePoint, windowPoints } from './sinks/influx-schema.ts';
import { CardiacExtractor } from './streams/features/cardiac.ts';
import { ContextExtractor } from './streams/features/context.ts';
import type { CanProfileResources } from './streams/features/driving-extractor.ts';
import { DrivingExtractor } from './streams/features/driving-extractor.ts';
import type { WindowFeatureExtractor } from './streams/features/extractor.ts';
import type { StreamSlot } from './sinks/influx-schema.ts';
import type { Sink } from './sinks/sink.ts';
import type { StressCounters, StressModel } from './streams/stress-operator.ts';
import { sumStressCounters, VehicleStressOperator } from './streams/stress-operator.ts';
import type { SpeechCounters, SpeechModel } from './streams/speech-operator.ts';
import { sumSpeechCounters, VehicleSpeechOperator } from './streams/speech-operator.ts';

/**
 * The pipeline's wiring, and nothing else: raw messages → decode/validate → per-vehicle event-time windows
 * → summaries to the sinks; sensor-fault rule → alerts to MQTT and the sinks; counters → `…/status`.
 *
 * I/O comes in through `PipelineIO` (an Observable of raw messages, the sinks, a publish function and a
 * scheduler), so the same code runs live, in replay and in tests. Time: windows and alerts run in event
 * time; the scheduler only drives status reports and the quiet-vehicle clock (see `quietMs`).
 */
export interface PipelineIO {
  readonly raw$: Observable<RawMessage>;
  readonly sinks: readonly Sink[];
  /** Publishes an output message; returns false when it was dropped (the edge counts it). */
  readonly publish: (topic: string, payload: Uint8Array, opts: { qos: 0 | 1; retain?: boolean }) => boolean;
  readonly scheduler: SchedulerLike;
  /**
   * The source's connection state (scheduler time of the last (re)connection, or null while down).
   * While our own connection is down the vehicles are not quiet, we are deaf: the quiet-vehicle clock
   * waits, so messages the broker redelivers after a reconnect are not late. Absent: always connected.
   */
  readonly sourceConnectedSinceMs?: () => number | null;
  /** The vehicle profile and DBC for driving features, loaded at start-up (config.features.driving). */
  readonly canProfile?: CanProfileResources;
  /**
   * The stress model, loaded once at start-up (config.features.stress); absent: no stress estimates.
   * Estimates are served per vehicle by `streams/stress-operator.ts`.
   */
  readonly stressModel?: StressModel;
  /**
   * The speech enhancement model, loaded once at start-up (config.features.speech); absent: no enhanced
   * audio. Served per vehicle by `streams/speech-operator.ts` on `…/audio/enhanced`.
   */
  readonly speechModel?: SpeechModel;
  /** Warnings from the pipeline's operators (a failed estimate); default: none. */
  readonly log?: (message: string) => void;
}

export interface PipelineStats {
  readonly windows: number;
  readonly points: number;
  /** Points written per measurement. */
  readonly pointsByMeasurement: Readonly<Record<string, number>>;
  readonly alerts: number;
  readonly unroutable: number;
  /** Messages of vehicles refused because `maxVehicles` were already served. */
  readonly refusedVehicleMessages: number;
  readonly status: StatusTracker;
  /** Stress estimation counters summed over vehicles (absent without a stress model). */
  readonly stress?: StressCounters;
  /** Speech enhancement counters summed over vehicles (absent without a speech model). */
  readonly speech?: SpeechCounters;
}

export interface PipelineHandle {
  /** Resolves when the input completed (or `stop()` was called), every window was flushed and the sinks flushed. */
  readonly done: Promise<void>;
  stop(): void;
  stats(): PipelineStats;
  /** Every alert published so far, in order (bounded to the last 1000). */
  readonly alertLog: readonly Alert[];
}

type VehicleEvent = DecodedEvent | InvalidEvent;
type Specs = Record<InputStream, StreamSpec<VehicleEvent, StreamSummary>>;

function streamSpecs(config: Config): Specs {
  const entries = INPUT_STREAMS.map((stream) => {
    const s = config.streams[stream];
    const spec: StreamSpec<VehicleEvent, StreamSummary> = {
      aggregator: { create: () => emptySummary(stream), add: addEvent },
      idleMs: s.idleMs,
      holdsWatermark: s.holdsWatermark,
    };
    return [stream, spec] as const;
  });
  return Object.fromEntries(entries) as Specs;
}

/** The feature extractors a config asks for, fresh for one vehicle. */
function featureExtractors(config: Config, io: PipelineIO): WindowFeatureExtractor[] {
  const f = config.features;
  const out: WindowFeatureExtractor[] = [];
  if (f.cardiac.enabled) out.push(new CardiacExtractor(f.cardiac));
  if (io.canProfile !== undefined)
    out.push(new DrivingExtractor(io.canProfile, { spanMs: f.driving.spanMs }));
  if (f.context.enabled) out.push(new ContextExtractor());
  return out;
}

export function startPipeline(config: Config, io: PipelineIO): PipelineHandle {
  const status = new StatusTracker();
  const counters = { windows: 0, points: 0, alerts: 0, refusedVehicleMessages: 0 };
  const served = new Set<string>();
  const alertLog: Alert[] = [];
  const stop$ = new Subject<void>();
  const allowed = config.vehicles === null ? null : new Set(config.vehicles);
  const specs = streamSpecs(config);
  const timeouts = Object.fromEntries(
    INPUT_STREAMS.flatMap((s) => {
      const t = config.streams[s].faultTimeoutMs;
      return t === null ? [] : [[s, t] as const];
    }),
  );
  const faultRules = new Map<string, SensorFaultRule>();
  const stressOps = new Map<string, VehicleStressOperator>();
  const speechOps = new Map<string, VehicleSpeechOperator>();
  const dirty = new Set<string>();

  const byMeasurement: Record<string, number> = {};
  const writePoints = (points: ReturnType<typeof windowPoints>) => {
    counters.points += points.length;
    for (const p of points) byMeasurement[p.measurement] = (byMeasurement[p.measurement] ?? 0) + 1;
    for (const sink of io.sinks) sink.write(points);
  };

  const emitAlerts = (alerts: readonly Alert[]) => {
    for (const a of alerts) {
      counters.alerts++;
      alertLog.push(a);
      if (alertLog.length > 1000) alertLog.shift();
      io.publish(topicFor(a.vehicleId, 'alert'), encodeJson(alertSchema, a), { qos: QOS.alert });
      writePoints([alertPoint(a)]);
      dirty.add(a.vehicleId);
    }
  };

  const publishStatus = (vehicleId: string, state: 'online' | 'offline') => {
    const s = status.get(vehicleId);
    const stress = stressOps.get(vehicleId);
    const speech = speechOps.get(vehicleId);
    const body = encodeJson(statusSchema, {
      v: 1,
      state,
      pipelineId: config.pipelineId,
      vehicleId,
      reportedAtMs: Math.round(io.scheduler.now()),
      ...(s ? { streams: s.streams, recentErrors: s.recentErrors.slice() } : {}),
      faults: faultRules.get(vehicleId)?.activeFaults() ?? [],
      ...(stress !== undefined ? { stress: stress.counters() } : {}),
      ...(speech !== undefined ? { speech: speech.counters() } : {}),
    });
    io.publish(topicFor(vehicleId, 'status'), body, { qos: QOS.status, retain: true });
  };

  const events$ = io.raw$.pipe(
    takeUntil(stop$),
    decodeAndTrack(),
    tap((ev: IngestEvent) => {
      status.observe(ev);
      if (ev.kind === 'invalid') dirty.add(ev.vehicleId);
    }),
    filter((ev): ev is VehicleEvent => {
      if (ev.kind === 'unroutable' || (allowed !== null && !allowed.has(ev.vehicleId))) return false;
      // Memory is per vehicle (windows, extractors, timers): beyond `maxVehicles` new ids are refused, counted.
      if (!served.has(ev.vehicleId)) {
        if (served.size >= config.maxVehicles) {
          counters.refusedVehicleMessages++;
          return false;
        }
        served.add(ev.vehicleId);
      }
      return true;
    }),
    share(),
  );

  const perVehicle$ = events$.pipe(
    groupBy((ev) => ev.vehicleId),
    mergeMap((group) => {
      const vehicleId = group.key;
      const rule = new SensorFaultRule(vehicleId, { timeoutMs: timeouts });
      const extractors = featureExtractors(config, io);
      const stress =
        io.stressModel === undefined
          ? undefined
          : new VehicleStressOperator(
              vehicleId,
              io.stressModel,
              config.features.stress,
              {
                publish: io.publish,
                writePoints,
                emitAlerts,
                onError: (v, e) => io.log?.(`stress estimate of ${v} failed: ${e.message}`),
              },
              io.canProfile,
            );
      if (stress !== undefined) stressOps.set(vehicleId, stress);
      const speech =
        io.speechModel === undefined
          ? undefined
          : new VehicleSpeechOperator(vehicleId, io.speechModel, config.features.speech, {
              publish: io.publish,
              onError: (v, e) => io.log?.(`speech enhancement of ${v}: ${e.message}`),
            });
      if (speech !== undefined) speechOps.set(vehicleId, speech);
      faultRules.set(vehicleId, rule);
      dirty.add(vehicleId);
      let lastArrivalMs = io.scheduler.now();
      let clockUs: number | undefined;

      const items$ = group.pipe(
        tap((ev) => {
          lastArrivalMs = io.scheduler.now();
          emitAlerts(rule.onEvent(ev));
          if (ev.kind === 'message' && ev.seq.status !== 'duplicate') {
            for (const x of extractors) if (x.stream === ev.stream) x.onMessage(ev.message);
            stress?.onMessage(ev.message);
            speech?.onMessage(ev.message);
          }
          if (ev.kind === 'message' && (clockUs === undefined || ev.message.endUs > clockUs))
            clockUs = ev.message.endUs;
        }),
        // Invalid payloads have no event time of their own: they count in the window at the vehicle's clock.
        filter(() => clockUs !== undefined),
        map((ev): TaggedItem<Specs> => {
          if (ev.kind === 'message')
            return { stream: ev.stream, tUs: ev.message.tUs, endUs: ev.message.endUs, item: ev };
          return { stream: ev.stream, tUs: clockUs as number, item: ev };
        }),
        share(),
      );
      // A wholly quiet vehicle (live: car off, gateway down) still needs its clock to move, so that windows
      // close and silent sensors are reported. After `quietMs` of processing time without any message (and
      // with our own connection up), event time is assumed to advance with processing time beyond that
      // grace: watermark = last event time + (quiet time − quietMs). Data that was merely delayed by less
      // than `quietMs` (a broker restart, sensors reconnecting) is therefore never made late by this clock.
      const quietFor = (): number => {
        // No connection state from the edge: always connected. null from the edge: disconnected now.
        const since = io.sourceConnectedSinceMs ? io.sourceConnectedSinceMs() : -Infinity;
        if (since === null || clockUs === undefined) return 0;
        return io.scheduler.now() - Math.max(lastArrivalMs, since) - config.status.quietMs;
      };
      const quiet$ = interval(Math.max(1, Math.floor(config.status.quietMs / 4)), io.scheduler).pipe(
        takeUntil(merge(stop$, items$.pipe(ignoreElements(), endWith(true)))),
        map(quietFor),
        filter((beyondMs) => beyondMs > 0),
        map((beyondMs): Watermark => {
          const t = (clockUs as number) + beyondMs * 1000;
          emitAlerts(rule.advanceTo(t));
          return watermark(t);
        }),
      );
      return merge(items$, quiet$).pipe(
        alignStreams({
          sizeMs: config.windows.sizeMs,
          slideMs: config.windows.slideMs,
          allowedLatenessMs: config.windows.allowedLatenessMs,
          streams: specs,
        }),
        tap((w) => {
          counters.windows++;
          for (const stream of INPUT_STREAMS) {
            const late = w.lateDroppedByStream[stream];
            if (late > 0) status.dropped(vehicleId, stream, late);
          }
          const streams: Partial<Record<InputStream, StreamSlot>> = {};
          for (const stream of INPUT_STREAMS) {
            const p = w.streams[stream];
            streams[stream] = p.present
              ? { present: true, summary: p.summary }
              : { present: false, reason: p.reason };
          }
          writePoints(
            windowPoints(vehicleId, {
              startUs: w.startUs,
              endUs: w.endUs,
              lateDropped: w.lateDropped,
              streams,
            }),
          );
          for (const x of extractors) {
            const row = x.onWindow(w.startUs, w.endUs);
            if (row !== null) writePoints([featurePoint(vehicleId, x.measurement, row, w.startUs)]);
          }
          stress?.onWindowClosed(w.startUs, w.endUs);
          speech?.onWindowClosed(w.endUs);
        }),
      );
    }),
  );

  const statusTick$ = interval(1000, io.scheduler).pipe(takeUntil(stop$));
  let ticks = 0;
  const everyTicks = Math.max(1, Math.round(config.status.intervalMs / 1000));
  const subs: Subscription[] = [];
  subs.push(
    statusTick$.subscribe(() => {
      ticks++;
      const all = ticks % everyTicks === 0;
      for (const v of all ? status.vehicleIds() : [...dirty]) publishStatus(v, 'online');
      dirty.clear();
    }),
  );

  const done = new Promise<void>((resolve, reject) => {
    subs.push(
      perVehicle$.subscribe({
        error: (e: unknown) => {
          stop$.next();
          reject(e instanceof Error ? e : new Error(String(e)));
        },
        complete: () => {
          stop$.next();
          // Estimates still in flight are emitted first (their points and alerts reach the sinks); the
          // enhancers are flushed and their audio published.
          Promise.all([
            ...[...stressOps.values()].map((op) => op.drain()),
            ...[...speechOps.values()].map((op) => op.drain()),
          ])
            .then(() => {
              // Final counters; the retained status says the pipeline no longer serves the vehicle.
              for (const v of status.vehicleIds()) publishStatus(v, 'offline');
              return Promise.all(io.sinks.map((s) => s.flush()));
            })
            .then(() => resolve(), reject);
        },
      }),
    );
  });

  return {
    done,
    alertLog,
    stop: () => stop$.next(),
    stats: () => ({
      ...counters,
      pointsByMeasurement: { ...byMeasurement },
      unroutable: status.unroutable,
      status,
      ...(io.stressModel !== undefined
        ? { stress: sumStressCounters([...stressOps.values()].map((op) => op.counters())) }
        : {}),
      ...(io.speechModel !== undefined
        ? { speech: sumSpeechCounters([...speechOps.values()].map((op) => op.counters())) }
        : {}),
    }),
  };
}
