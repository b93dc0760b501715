/** Why a payload was refused. Stable codes: they are counted, reported on `…/status` and stored. */
export type DecodeErrorCode =
  | 'truncated'
  | 'oversized'
  | 'bad-magic'
  | 'unsupported-version'
  | 'wrong-type'
  | 'bad-field'
  | 'bad-length'
  | 'non-finite'
  | 'bad-json'
  | 'schema';

export class DecodeError extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'DecodeError';
  }
}

export function fail(code: DecodeErrorCode, message: string): never {
  throw new DecodeError(code, message);
}
