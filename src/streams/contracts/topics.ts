/**
 * MQTT topic layout: `drivesense/v1/{vehicleId}/{stream}`.
 * Inputs are the five sensor streams; outputs are written by the pipeline.
 */
export const TOPIC_ROOT = 'drivesense/v1';

export const INPUT_STREAMS = ['ecg', 'can', 'weather', 'audio', 'camera'] as const;
export type InputStream = (typeof INPUT_STREAMS)[number];

export const OUTPUT_STREAMS = ['stress', 'alert', 'audio/enhanced', 'status'] as const;
export type OutputStream = (typeof OUTPUT_STREAMS)[number];

/** QoS per stream: 0 for the high-volume media streams, 1 for everything else. */
export const QOS: Readonly<Record<InputStream | OutputStream, 0 | 1>> = {
  ecg: 1,
  can: 1,
  weather: 1,
  audio: 0,
  camera: 0,
  stress: 1,
  alert: 1,
  'audio/enhanced': 0,
  status: 1,
};

/** Vehicle ids are one topic level of safe characters, so they never contain wildcards or separators. */
const VEHICLE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export function isValidVehicleId(id: string): boolean {
  return VEHICLE_ID.test(id);
}

export function topicFor(vehicleId: string, stream: InputStream | OutputStream): string {
  if (!isValidVehicleId(vehicleId)) {
    throw new Error(`invalid vehicle id ${JSON.stringify(vehicleId)}: 1-64 of [A-Za-z0-9_.-]`);
  }
  return `${TOPIC_ROOT}/${vehicleId}/${stream}`;
}

export interface ParsedTopic {
  readonly vehicleId: string;
  readonly stream: InputStream;
}

/** Parses an input topic; returns null for anything that is not one (outputs, other trees, bad ids). */
export function parseInputTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 4 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return null;
  const vehicleId = parts[2] as string;
  const stream = parts[3] as string;
  if (!isValidVehicleId(vehicleId)) return null;
  if (!(INPUT_STREAMS as readonly string[]).includes(stream)) return null;
  return { vehicleId, stream: stream as InputStream };
}

/** Subscription filters for the input streams of every vehicle (or of one). */
export function inputFilters(vehicleId = '+'): { filter: string; stream: InputStream; qos: 0 | 1 }[] {
  return INPUT_STREAMS.map((stream) => ({
    filter: `${TOPIC_ROOT}/${vehicleId}/${stream}`,
    stream,
    qos: QOS[stream],
  }));
}
