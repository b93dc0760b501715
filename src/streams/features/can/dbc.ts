/**
 * DBC (Vector CAN database) parser. Pure: text in, a frozen description of messages and signals out.
 *
 * Understood statements
 *   VERSION "…"                       version string
 *   BU_: A B C                         node names
 *   BO_ <id> <name>: <size> <tx>      message; id is decimal, bit 31 (0x80000000) set = 29-bit extended id
 *   SG_ <name> [M|mN|mNM] : <start>|<length>@<order><sign> (<factor>,<offset>) [<min>|<max>] "<unit>" <rx,…>
 *                                      signal of the preceding BO_; order 1 = Intel (little-endian),
 *                                      0 = Motorola (big-endian); sign '+' unsigned, '-' two's complement
 *   CM_ ["…" | BU_ n "…" | BO_ id "…" | SG_ id sig "…" | EV_ e "…"];   comments (may span lines)
 *   VAL_ <id> <sig> <n> "<label>" … ;  value table of a signal (the environment-variable form is skipped)
 *   SIG_VALTYPE_ <id> <sig> : 1|2;    IEEE float32 (1) / float64 (2) signal
 *   SG_MUL_VAL_ <id> <sig> <switch> <lo>-<hi>, … ;   extended multiplexing (which switch, which values)
 * Recognised and skipped (counted in `skipped`): NS_ (and its indented list), BS_, BA_DEF_, BA_, BA_DEF_DEF_,
 * VAL_TABLE_, SIG_GROUP_, BO_TX_BU_, EV_, ENVVAR_DATA_, CAT_DEF_, CAT_, FILTER, SGTYPE_*, SIG_TYPE_REF_,
 * BA_*_REL_, BU_*_REL_, SIGTYPE_VALTYPE_, NS_DESC_. Any other line is reported in `diagnostics` as
 * `unknown` with its line number and skipped. `//` comment lines are ignored.
 *
 * Bit numbering (as written in DBC files by Vector's CANdb++ and opendbc): bit b of the payload is bit
 * (b mod 8) of byte floor(b / 8), bit 0 being the byte's least significant bit ("sawtooth" numbering when
 * drawn MSB-first). Intel signals give the start bit of their LSB and grow towards higher bit numbers;
 * Motorola signals give the start bit of their MSB and continue towards the byte's LSB, then bit 7 of the
 * next byte (see `signalSegments` in decoder.ts).
 *
 * Errors: malformed syntax throws a `DbcParseError` carrying the 1-based line number. Problems that leave
 * the rest usable (a comment or value table naming an unknown signal, a signal reaching past its message's
 * declared size, a duplicate definition that is ignored) are `warning` diagnostics, never silent.
 */

export type ByteOrder = 'intel' | 'motorola';
export type SignalValueType = 'integer' | 'float32' | 'float64';

export interface MultiplexRange {
  /** Inclusive raw switch values. */
  readonly lo: number;
  readonly hi: number;
}

export interface DbcSignal {
  readonly name: string;
  /** As written in the DBC: Intel = bit of the LSB, Motorola = bit of the MSB (numbering above). */
  readonly startBit: number;
  /** Bits, 1..64. */
  readonly length: number;
  readonly byteOrder: ByteOrder;
  /** Two's complement (`-`) or unsigned (`+`); ignored for float value types. */
  readonly signed: boolean;
  readonly valueType: SignalValueType;
  /** physical = raw × factor + offset. */
  readonly factor: number;
  readonly offset: number;
  readonly minimum: number;
  readonly maximum: number;
  readonly unit: string;
  readonly receivers: readonly string[];
  /** A multiplexer switch (`M`, or the `M` of `mNM`). */
  readonly isMultiplexer: boolean;
  /**
   * For a multiplexed signal: the switch it depends on and the raw switch values for which it is present
   * (from `mN`, or from SG_MUL_VAL_). Undefined for a signal that is always present.
   */
  readonly multiplexedBy:
    { readonly switchName: string; readonly ranges: readonly MultiplexRange[] } | undefined;
  readonly comment: string | undefined;
  /** VAL_ table: raw value → label. */
  readonly valueTable: ReadonlyMap<number, string> | undefined;
  /** 1-based line of the SG_ statement. */
  readonly line: number;
}

export interface DbcMessage {
  /** 11-bit or 29-bit identifier (without the extended flag). */
  readonly id: number;
  readonly extended: boolean;
  readonly name: string;
  /** Declared payload size in bytes (DLC as a length). */
  readonly size: number;
  readonly transmitter: string;
  readonly signals: readonly DbcSignal[];
  readonly comment: string | undefined;
  readonly line: number;
}

export interface DbcDiagnostic {
  readonly line: number;
  readonly kind: 'unknown' | 'warning';
  readonly message: string;
}

export interface DbcDatabase {
  readonly version: string;
  readonly nodes: readonly string[];
  readonly messages: readonly DbcMessage[];
  /** Database-level CM_ comments joined with newlines. */
  readonly comment: string | undefined;
  readonly diagnostics: readonly DbcDiagnostic[];
  /** Statements recognised and skipped, by keyword. */
  readonly skipped: Readonly<Record<string, number>>;
  /** Messages by name (first definition wins). */
  readonly byName: ReadonlyMap<string, DbcMessage>;
}

export interface DbcParseOptions {
  /** Named in error messages (e.g. the file path). */
  readonly source?: string;
}

export class DbcParseError extends Error {
  override name = 'DbcParseError';
  constructor(
    readonly source: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${source}:${line}: ${reason}`);
  }
}

/** VECTOR__INDEPENDENT_SIG_MSG and similar pseudo messages use ids above 0x9FFFFFFF; they carry no frames. */
const EXTENDED_FLAG = 0x80000000;
const MAX_PAYLOAD_BYTES = 64;

const SKIPPED_TERMINATED = new Set([
  'BA_DEF_',
  'BA_',
  'BA_DEF_DEF_',
  'VAL_TABLE_',
  'SIG_GROUP_',
  'BO_TX_BU_',
  'EV_',
  'ENVVAR_DATA_',
  'CAT_DEF_',
  'CAT_',
  'FILTER',
  'SGTYPE_',
  'SGTYPE_VAL_',
  'BA_DEF_SGTYPE_',
  'BA_SGTYPE_',
  'SIG_TYPE_REF_',
  'BA_DEF_REL_',
  'BA_REL_',
  'BA_DEF_DEF_REL_',
  'BU_SG_REL_',
  'BU_EV_REL_',
  'BU_BO_REL_',
  'SIGTYPE_VALTYPE_',
  'NS_DESC_',
]);
/** Handled statements that end with ';' (and may span lines). */
const HANDLED_TERMINATED = new Set(['CM_', 'VAL_', 'SIG_VALTYPE_', 'SG_MUL_VAL_']);

// ---------------------------------------------------------------------------------------------------------
// Lexer over one statement (which may span lines)
// ---------------------------------------------------------------------------------------------------------

type TokenKind = 'word' | 'string' | 'punct';
interface Token {
  readonly kind: TokenKind;
  readonly value: string;
  readonly line: number;
}

const PUNCT = new Set([':', ';', '|', '@', '(', ')', '[', ']', ',']);

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\f' || c === '\v';
}

class Lexer {
  #i = 0;
  #line: number;
  #peeked: Token | undefined;
  constructor(
    private readonly text: string,
    firstLine: number,
    private readonly source: string,
  ) {
    this.#line = firstLine;
  }

  fail(reason: string, line = this.#peeked?.line ?? this.#line): never {
    throw new DbcParseError(this.source, line, reason);
  }

  peek(): Token | undefined {
    if (this.#peeked === undefined) this.#peeked = this.#read();
    return this.#peeked;
  }

  next(): Token | undefined {
    const t = this.peek();
    this.#peeked = undefined;
    return t;
  }

  #read(): Token | undefined {
    const s = this.text;
    while (this.#i < s.length && isSpace(s[this.#i]!)) {
      if (s[this.#i] === '\n') this.#line++;
      this.#i++;
    }
    if (this.#i >= s.length) return undefined;
    const line = this.#line;
    const c = s[this.#i]!;
    if (c === '"') {
      let out = '';
      this.#i++;
      for (;;) {
        if (this.#i >= s.length) this.fail('unterminated string', line);
        const ch = s[this.#i]!;
        if (ch === '\\' && this.#i + 1 < s.length) {
          const nx = s[this.#i + 1]!;
          out += nx === 'n' ? '\n' : nx === 't' ? '\t' : nx;
          if (nx === '\n') this.#line++;
          this.#i += 2;
          continue;
        }
        if (ch === '"') {
          this.#i++;
          break;
        }
        if (ch === '\n') this.#line++;
        out += ch;
        this.#i++;
      }
      return { kind: 'string', value: out, line };
    }
    if (PUNCT.has(c)) {
      this.#i++;
      return { kind: 'punct', value: c, line };
    }
    const start = this.#i;
    while (this.#i < s.length) {
      const ch = s[this.#i]!;
      if (isSpace(ch) || PUNCT.has(ch) || ch === '"') break;
      this.#i++;
    }
    return { kind: 'word', value: s.slice(start, this.#i), line };
  }

  expectWord(what: string): Token {
    const t = this.next();
    if (t === undefined || t.kind !== 'word') this.fail(`expected ${what}, got ${describe(t)}`, t?.line);
    return t;
  }

  expectString(what: string): Token {
    const t = this.next();
    if (t === undefined || t.kind !== 'string')
      this.fail(`expected ${what} (a quoted string), got ${describe(t)}`, t?.line);
    return t;
  }

  expectPunct(p: string, what: string): void {
    const t = this.next();
    if (t === undefined || t.kind !== 'punct' || t.value !== p)
      this.fail(`expected "${p}" ${what}, got ${describe(t)}`, t?.line);
  }

  /** Consumes an optional ';' and requires the statement to end there. */
  end(keyword: string): void {
    const t = this.next();
    if (t !== undefined && !(t.kind === 'punct' && t.value === ';'))
      this.fail(`unexpected ${describe(t)} in ${keyword}`, t.line);
    const extra = this.next();
    if (extra !== undefined) this.fail(`unexpected ${describe(extra)} after ${keyword}`, extra.line);
  }

  get line(): number {
    return this.#line;
  }
}

function describe(t: Token | undefined): string {
  if (t === undefined) return 'end of statement';
  if (t.kind === 'string') return `string "${t.value.length > 20 ? `${t.value.slice(0, 20)}…` : t.value}"`;
  return `"${t.value.length > 20 ? `${t.value.slice(0, 20)}…` : t.value}"`;
}

const UINT_RE = /^\d+$/;
const INT_RE = /^[+-]?\d+$/;
const NUM_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function parseUint(lx: Lexer, t: Token, what: string, max: number): number {
  if (!UINT_RE.test(t.value)) lx.fail(`${what} must be a non-negative integer, got "${t.value}"`, t.line);
  const n = Number(t.value);
  if (n > max) lx.fail(`${what} ${t.value} exceeds ${max}`, t.line);
  return n;
}

function parseNum(lx: Lexer, t: Token, what: string): number {
  if (!NUM_RE.test(t.value)) lx.fail(`${what} must be a number, got "${t.value}"`, t.line);
  const n = Number(t.value);
  if (!Number.isFinite(n)) lx.fail(`${what} ${t.value} is out of range`, t.line);
  return n;
}

function parseIdent(lx: Lexer, t: Token, what: string): string {
  if (!IDENT_RE.test(t.value)) lx.fail(`${what} "${t.value}" is not a valid name`, t.line);
  return t.value;
}

// ---------------------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------------------

interface MutSignal {
  name: string;
  startBit: number;
  length: number;
  byteOrder: ByteOrder;
  signed: boolean;
  valueType: SignalValueType;
  valueTypeLine: number;
  factor: number;
  offset: number;
  minimum: number;
  maximum: number;
  unit: string;
  receivers: string[];
  isMultiplexer: boolean;
  /** From `mN`. */
  muxValue: number | undefined;
  multiplexedBy: { switchName: string; ranges: MultiplexRange[] } | undefined;
  comment: string | undefined;
  valueTable: Map<number, string> | undefined;
  line: number;
}

interface MutMessage {
  id: number;
  extended: boolean;
  pseudo: boolean;
  name: string;
  size: number;
  transmitter: string;
  signals: MutSignal[];
  signalsByName: Map<string, MutSignal>;
  comment: string | undefined;
  line: number;
}

interface MuxVal {
  readonly messageKey: string;
  readonly signal: string;
  readonly switchName: string;
  readonly ranges: MultiplexRange[];
  readonly line: number;
}

function messageKey(id: number, extended: boolean): string {
  return `${extended ? 'x' : 's'}${id}`;
}

/** Splits a raw DBC message id into (id, extended); ids with bits 29..30 set are pseudo messages. */
export function splitDbcId(raw: number): { id: number; extended: boolean; pseudo: boolean } {
  const extended = raw >= EXTENDED_FLAG;
  const rest = extended ? raw - EXTENDED_FLAG : raw;
  return { id: rest % 0x20000000, extended, pseudo: rest >= 0x20000000 };
}

/** Parses DBC text. Throws `DbcParseError` (with the line number) on malformed input. */
export function parseDbc(text: string, options: DbcParseOptions = {}): DbcDatabase {
  const source = options.source ?? '<dbc>';
  const lines = text.split('\n');
  const diagnostics: DbcDiagnostic[] = [];
  const skipped: Record<string, number> = {};
  const messages: MutMessage[] = [];
  const byKey = new Map<string, MutMessage>();
  const muxVals: MuxVal[] = [];
  const dbComments: string[] = [];
  let version = '';
  let nodes: string[] = [];
  let current: MutMessage | undefined;
  let inNs = false;

  const warn = (line: number, message: string): void => {
    diagnostics.push({ line, kind: 'warning', message });
  };
  const skip = (kw: string): void => {
    skipped[kw] = (skipped[kw] ?? 0) + 1;
  };
  const findMsg = (lx: Lexer, t: Token): MutMessage | undefined => {
    const raw = parseUint(lx, t, 'message id', 0xffffffff);
    const { id, extended } = splitDbcId(raw);
    return byKey.get(messageKey(id, extended));
  };

  let li = 0;
  while (li < lines.length) {
    const lineNo = li + 1;
    const raw = lines[li]!;
    const trimmed = raw.trim();
    li++;
    if (trimmed.length === 0 || trimmed.startsWith('//')) continue;
    const kwMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(trimmed);
    const kw = kwMatch?.[0] ?? '';

    // NS_ block: indented single names after "NS_ :".
    if (inNs) {
      if (isSpace(raw[0] ?? 'x') && /^[A-Za-z_][A-Za-z0-9_]*$/.test(trimmed)) continue;
      inNs = false;
    }

    if (HANDLED_TERMINATED.has(kw) || SKIPPED_TERMINATED.has(kw)) {
      // Gather until a ';' outside a string, across lines.
      let stmt = raw;
      let end = terminatorIndex(stmt);
      while (end < 0) {
        if (li >= lines.length)
          throw new DbcParseError(source, lineNo, `${kw} statement has no terminating ";"`);
        stmt += `\n${lines[li]!}`;
        li++;
        end = terminatorIndex(stmt);
      }
      const rest = stmt.slice(end + 1).trim();
      if (rest.length > 0) {
        // Text after the ';' on the same line: keep it for the next iteration by re-inserting it.
        li--;
        lines[li] = stmt.slice(end + 1);
        stmt = stmt.slice(0, end + 1);
      }
      if (SKIPPED_TERMINATED.has(kw)) {
        skip(kw);
        continue;
      }
      const lx = new Lexer(stmt, lineNo, source);
      lx.next(); // keyword
      if (kw === 'CM_') parseComment(lx);
      else if (kw === 'VAL_') parseValueTable(lx);
      else if (kw === 'SIG_VALTYPE_') parseValType(lx);
      else parseMuxVal(lx);
      continue;
    }

    const lx = new Lexer(raw, lineNo, source);
    switch (kw) {
      case 'VERSION': {
        lx.next();
        version = lx.expectString('the version').value;
        lx.end('VERSION');
        break;
      }
      case 'NS_':
        inNs = true;
        skip('NS_');
        break;
      case 'BS_':
        skip('BS_');
        break;
      case 'BU_': {
        lx.next();
        lx.expectPunct(':', 'after BU_');
        nodes = [];
        for (let t = lx.next(); t !== undefined; t = lx.next()) {
          if (t.kind !== 'word') lx.fail(`unexpected ${describe(t)} in BU_`, t.line);
          nodes.push(t.value);
        }
        break;
      }
      case 'BO_':
        current = parseMessage(lx);
        break;
      case 'SG_':
        if (current === undefined) lx.fail('SG_ outside a message (no BO_ before it)');
        else parseSignal(lx, current);
        break;
      default:
        diagnostics.push({
          line: lineNo,
          kind: 'unknown',
          message: `unknown statement: ${truncate(trimmed, 60)}`,
        });
    }
  }

  function parseMessage(lx: Lexer): MutMessage | undefined {
    const kwTok = lx.next()!;
    const idTok = lx.expectWord('a message id');
    const rawId = parseUint(lx, idTok, 'message id', 0xffffffff);
    const { id, extended, pseudo } = splitDbcId(rawId);
    const name = parseIdent(lx, lx.expectWord('a message name'), 'message name');
    lx.expectPunct(':', 'after the message name');
    const sizeTok = lx.expectWord('the message size');
    const size = parseUint(lx, sizeTok, 'message size', 0xffff);
    const txTok = lx.next();
    if (txTok !== undefined && txTok.kind !== 'word')
      lx.fail(`unexpected ${describe(txTok)} in BO_`, txTok.line);
    const extra = lx.next();
    if (extra !== undefined) lx.fail(`unexpected ${describe(extra)} after BO_`, extra.line);
    if (size > MAX_PAYLOAD_BYTES)
      warn(kwTok.line, `message ${name}: size ${size} exceeds ${MAX_PAYLOAD_BYTES} bytes`);
    if (!extended && id > 0x7ff)
      warn(
        kwTok.line,
        `message ${name}: standard id 0x${id.toString(16)} exceeds 0x7FF (extended ids set bit 31)`,
      );
    const msg: MutMessage = {
      id,
      extended,
      pseudo,
      name,
      size,
      transmitter: txTok?.value ?? '',
      signals: [],
      signalsByName: new Map(),
      comment: undefined,
      line: kwTok.line,
    };
    const key = messageKey(id, extended);
    if (!pseudo && byKey.has(key)) {
      const prev = byKey.get(key)!;
      lx.fail(
        `duplicate message id ${rawId} (${name}; first defined as ${prev.name} on line ${prev.line})`,
        kwTok.line,
      );
    }
    if (!pseudo) byKey.set(key, msg);
    messages.push(msg);
    return msg;
  }

  function parseSignal(lx: Lexer, msg: MutMessage): void {
    const kwTok = lx.next()!;
    const name = parseIdent(lx, lx.expectWord('a signal name'), 'signal name');
    let isMultiplexer = false;
    let muxValue: number | undefined;
    let t = lx.next();
    if (t !== undefined && t.kind === 'word') {
      const m = /^(?:M|m(\d+)(M?))$/.exec(t.value);
      if (m === null) lx.fail(`bad multiplex indicator "${t.value}" (M, mN or mNM)`, t.line);
      if (m[1] === undefined) isMultiplexer = true;
      else {
        muxValue = Number(m[1]);
        if (!Number.isSafeInteger(muxValue)) lx.fail(`multiplex value ${m[1]} is too large`, t.line);
        isMultiplexer = m[2] === 'M';
      }
      t = lx.next();
    }
    if (t === undefined || t.kind !== 'punct' || t.value !== ':')
      lx.fail(`expected ":" after the signal name, got ${describe(t)}`, t?.line);
    const startTok = lx.expectWord('the start bit');
    const startBit = parseUint(lx, startTok, 'start bit', 8 * MAX_PAYLOAD_BYTES - 1);
    lx.expectPunct('|', 'between start bit and length');
    const lenTok = lx.expectWord('the signal length');
    const length = parseUint(lx, lenTok, 'signal length', 64);
    if (length === 0) lx.fail('signal length must be 1..64', lenTok.line);
    lx.expectPunct('@', 'before the byte order');
    const osTok = lx.expectWord('the byte order and sign (e.g. 1+)');
    const os = /^([01])([+-])$/.exec(osTok.value);
    if (os === null) lx.fail(`bad byte order/sign "${osTok.value}" (expected 0+, 0-, 1+ or 1-)`, osTok.line);
    const byteOrder: ByteOrder = os[1] === '1' ? 'intel' : 'motorola';
    const signed = os[2] === '-';
    lx.expectPunct('(', 'before the factor');
    const factor = parseNum(lx, lx.expectWord('the factor'), 'factor');
    lx.expectPunct(',', 'between factor and offset');
    const offset = parseNum(lx, lx.expectWord('the offset'), 'offset');
    lx.expectPunct(')', 'after the offset');
    lx.expectPunct('[', 'before the minimum');
    const minimum = parseNum(lx, lx.expectWord('the minimum'), 'minimum');
    lx.expectPunct('|', 'between minimum and maximum');
    const maximum = parseNum(lx, lx.expectWord('the maximum'), 'maximum');
    lx.expectPunct(']', 'after the maximum');
    const unit = lx.expectString('the unit').value;
    const receivers: string[] = [];
    for (let r = lx.next(); r !== undefined; r = lx.next()) {
      if (r.kind === 'punct' && r.value === ',') continue;
      if (r.kind !== 'word') lx.fail(`unexpected ${describe(r)} in the receivers`, r.line);
      receivers.push(r.value);
    }
    const lastByte = signalLastByte(byteOrder, startBit, length);
    if (byteOrder === 'motorola' && lastByte >= MAX_PAYLOAD_BYTES)
      lx.fail(
        `signal ${name} (${startBit}|${length}@0) runs past byte ${MAX_PAYLOAD_BYTES - 1}`,
        startTok.line,
      );
    if (byteOrder === 'intel' && lastByte >= MAX_PAYLOAD_BYTES)
      lx.fail(
        `signal ${name} (${startBit}|${length}@1) runs past byte ${MAX_PAYLOAD_BYTES - 1}`,
        startTok.line,
      );
    if (lastByte >= msg.size && !msg.pseudo)
      warn(
        kwTok.line,
        `signal ${msg.name}.${name} needs ${lastByte + 1} bytes but the message declares ${msg.size}; ` +
          'it decodes as absent in shorter frames',
      );
    if (msg.signalsByName.has(name)) lx.fail(`duplicate signal ${name} in message ${msg.name}`, kwTok.line);
    const sig: MutSignal = {
      name,
      startBit,
      length,
      byteOrder,
      signed,
      valueType: 'integer',
      valueTypeLine: 0,
      factor,
      offset,
      minimum,
      maximum,
      unit,
      receivers,
      isMultiplexer,
      muxValue,
      multiplexedBy: undefined,
      comment: undefined,
      valueTable: undefined,
      line: kwTok.line,
    };
    msg.signals.push(sig);
    msg.signalsByName.set(name, sig);
  }

  function parseComment(lx: Lexer): void {
    const first = lx.next();
    if (first === undefined) lx.fail('empty CM_');
    if (first.kind === 'string') {
      dbComments.push(first.value);
      lx.end('CM_');
      return;
    }
    if (first.kind !== 'word') lx.fail(`unexpected ${describe(first)} in CM_`, first.line);
    switch (first.value) {
      case 'BU_':
      case 'EV_': {
        lx.expectWord('a name');
        lx.expectString('the comment');
        lx.end('CM_');
        skip(`CM_ ${first.value}`);
        return;
      }
      case 'BO_': {
        const idTok = lx.expectWord('a message id');
        const msg = findMsg(lx, idTok);
        const text = lx.expectString('the comment').value;
        lx.end('CM_');
        if (msg === undefined) warn(idTok.line, `CM_ BO_ for unknown message id ${idTok.value}`);
        else msg.comment = text;
        return;
      }
      case 'SG_': {
        const idTok = lx.expectWord('a message id');
        const msg = findMsg(lx, idTok);
        const sigName = lx.expectWord('a signal name').value;
        const text = lx.expectString('the comment').value;
        lx.end('CM_');
        const sig = msg?.signalsByName.get(sigName);
        if (sig === undefined) warn(idTok.line, `CM_ SG_ for unknown signal ${idTok.value} ${sigName}`);
        else sig.comment = text;
        return;
      }
      default:
        lx.fail(`CM_ must comment "…", BU_, BO_, SG_ or EV_, got "${first.value}"`, first.line);
    }
  }

  function parseValueTable(lx: Lexer): void {
    const first = lx.expectWord('a message id or environment variable');
    if (!UINT_RE.test(first.value)) {
      // VAL_ <env var> n "label" … ; (environment variables are not decoded)
      skip('VAL_ env');
      return;
    }
    const msg = findMsg(lx, first);
    const sigName = lx.expectWord('a signal name').value;
    const table = new Map<number, string>();
    for (;;) {
      const t = lx.next();
      if (t === undefined || (t.kind === 'punct' && t.value === ';')) break;
      if (t.kind !== 'word' || !INT_RE.test(t.value))
        lx.fail(`expected a value in VAL_, got ${describe(t)}`, t.line);
      const label = lx.expectString('the value label').value;
      table.set(Number(t.value), label);
    }
    const extra = lx.next();
    if (extra !== undefined) lx.fail(`unexpected ${describe(extra)} after VAL_`, extra.line);
    const sig = msg?.signalsByName.get(sigName);
    if (sig === undefined) warn(first.line, `VAL_ for unknown signal ${first.value} ${sigName}`);
    else sig.valueTable = table;
  }

  function parseValType(lx: Lexer): void {
    const idTok = lx.expectWord('a message id');
    const msg = findMsg(lx, idTok);
    const sigName = lx.expectWord('a signal name').value;
    // The ':' is optional in practice.
    let t = lx.next();
    if (t !== undefined && t.kind === 'punct' && t.value === ':') t = lx.next();
    if (t === undefined || t.kind !== 'word' || !/^[0-3]$/.test(t.value))
      lx.fail(`SIG_VALTYPE_ type must be 0, 1 (float32) or 2 (float64), got ${describe(t)}`, t?.line);
    lx.end('SIG_VALTYPE_');
    const sig = msg?.signalsByName.get(sigName);
    if (sig === undefined) {
      warn(idTok.line, `SIG_VALTYPE_ for unknown signal ${idTok.value} ${sigName}`);
      return;
    }
    const type = t.value === '1' ? 'float32' : t.value === '2' ? 'float64' : 'integer';
    const need = type === 'float32' ? 32 : type === 'float64' ? 64 : sig.length;
    if (sig.length !== need)
      lx.fail(`signal ${sigName} is ${sig.length} bits, ${type} needs ${need}`, t.line);
    sig.valueType = type;
    sig.valueTypeLine = t.line;
  }

  function parseMuxVal(lx: Lexer): void {
    const idTok = lx.expectWord('a message id');
    const rawId = parseUint(lx, idTok, 'message id', 0xffffffff);
    const { id, extended } = splitDbcId(rawId);
    const signal = lx.expectWord('a signal name').value;
    const switchName = lx.expectWord('a multiplexer switch name').value;
    const ranges: MultiplexRange[] = [];
    for (;;) {
      const t = lx.next();
      if (t === undefined || (t.kind === 'punct' && t.value === ';')) break;
      if (t.kind === 'punct' && t.value === ',') continue;
      const m = t.kind === 'word' ? /^(\d+)-(\d+)$/.exec(t.value) : null;
      if (m === null) lx.fail(`expected a range like 0-3 in SG_MUL_VAL_, got ${describe(t)}`, t.line);
      const lo = Number(m[1]);
      const hi = Number(m[2]);
      if (lo > hi) lx.fail(`empty range ${t.value} in SG_MUL_VAL_`, t.line);
      ranges.push({ lo, hi });
    }
    const extra = lx.next();
    if (extra !== undefined) lx.fail(`unexpected ${describe(extra)} after SG_MUL_VAL_`, extra.line);
    if (ranges.length === 0) lx.fail('SG_MUL_VAL_ without ranges', idTok.line);
    muxVals.push({ messageKey: messageKey(id, extended), signal, switchName, ranges, line: idTok.line });
  }

  // --- Multiplexing: who switches whom -------------------------------------------------------------------
  for (const mv of muxVals) {
    const msg = byKey.get(mv.messageKey);
    const sig = msg?.signalsByName.get(mv.signal);
    if (msg === undefined || sig === undefined) {
      warn(mv.line, `SG_MUL_VAL_ for unknown signal ${mv.signal}`);
      continue;
    }
    const sw = msg.signalsByName.get(mv.switchName);
    if (sw === undefined || !sw.isMultiplexer)
      throw new DbcParseError(
        source,
        mv.line,
        `SG_MUL_VAL_: ${mv.switchName} is not a multiplexer switch of ${msg.name}`,
      );
    if (sig.muxValue === undefined)
      throw new DbcParseError(
        source,
        mv.line,
        `SG_MUL_VAL_: ${msg.name}.${mv.signal} is not multiplexed (mN)`,
      );
    if (sig.multiplexedBy !== undefined)
      throw new DbcParseError(source, mv.line, `SG_MUL_VAL_: duplicate entry for ${msg.name}.${mv.signal}`);
    sig.multiplexedBy = { switchName: mv.switchName, ranges: mv.ranges };
  }
  for (const msg of messages) {
    const switches = msg.signals.filter((s) => s.isMultiplexer);
    for (const sig of msg.signals) {
      if (sig.muxValue === undefined || sig.multiplexedBy !== undefined) continue;
      const own = switches.filter((s) => s !== sig);
      if (own.length === 0)
        throw new DbcParseError(
          source,
          sig.line,
          `${msg.name}.${sig.name} is multiplexed (m${sig.muxValue}) but the message has no multiplexer switch (M)`,
        );
      if (own.length > 1)
        throw new DbcParseError(
          source,
          sig.line,
          `${msg.name}.${sig.name}: the message has ${own.length} multiplexer switches and no SG_MUL_VAL_ says which one applies`,
        );
      sig.multiplexedBy = { switchName: own[0]!.name, ranges: [{ lo: sig.muxValue, hi: sig.muxValue }] };
    }
    // Cycles (a switch multiplexed, directly or not, by itself).
    for (const sig of msg.signals) {
      const seen = new Set<MutSignal>();
      for (let s: MutSignal | undefined = sig; s?.multiplexedBy !== undefined;) {
        if (seen.has(s))
          throw new DbcParseError(source, sig.line, `${msg.name}.${sig.name}: multiplexing cycle`);
        seen.add(s);
        s = msg.signalsByName.get(s.multiplexedBy.switchName);
      }
    }
  }

  // --- Freeze --------------------------------------------------------------------------------------------
  const frozen: DbcMessage[] = messages.map((m) =>
    Object.freeze({
      id: m.id,
      extended: m.extended,
      name: m.name,
      size: m.size,
      transmitter: m.transmitter,
      comment: m.comment,
      line: m.line,
      signals: Object.freeze(
        m.signals.map((s) =>
          Object.freeze({
            name: s.name,
            startBit: s.startBit,
            length: s.length,
            byteOrder: s.byteOrder,
            signed: s.signed,
            valueType: s.valueType,
            factor: s.factor,
            offset: s.offset,
            minimum: s.minimum,
            maximum: s.maximum,
            unit: s.unit,
            receivers: Object.freeze(s.receivers),
            isMultiplexer: s.isMultiplexer,
            multiplexedBy:
              s.multiplexedBy === undefined
                ? undefined
                : Object.freeze({
                    switchName: s.multiplexedBy.switchName,
                    ranges: Object.freeze(s.multiplexedBy.ranges),
                  }),
            comment: s.comment,
            valueTable: s.valueTable,
            line: s.line,
          }),
        ),
      ),
    }),
  );
  const byName = new Map<string, DbcMessage>();
  frozen.forEach((m, i) => {
    if (messages[i]!.pseudo) return;
    if (byName.has(m.name))
      warn(m.line, `message name ${m.name} is used twice; lookups by name find the first`);
    else byName.set(m.name, m);
  });
  return Object.freeze({
    version,
    nodes: Object.freeze(nodes),
    messages: Object.freeze(frozen.filter((_, i) => !messages[i]!.pseudo)),
    comment: dbComments.length > 0 ? dbComments.join('\n') : undefined,
    diagnostics: Object.freeze(diagnostics),
    skipped: Object.freeze(skipped),
    byName,
  });
}

/** Index of the first ';' outside a string, or -1. */
function terminatorIndex(s: string): number {
  let inStr = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === ';') return i;
  }
  return -1;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** Index of the highest-numbered payload byte a signal touches. */
export function signalLastByte(byteOrder: ByteOrder, startBit: number, length: number): number {
  if (byteOrder === 'intel') return (startBit + length - 1) >> 3;
  // Motorola: position in MSB-first ("big-endian linear") order, MSB at startBit.
  const linMsb = (startBit & ~7) + 7 - (startBit & 7);
  return (linMsb + length - 1) >> 3;
}

/** The message with this id, or undefined. */
export function findMessageById(db: DbcDatabase, id: number, extended = false): DbcMessage | undefined {
  return db.messages.find((m) => m.id === id && m.extended === extended);
}

/** DBC files are often Latin-1 (units like °): UTF-8 when the bytes are valid UTF-8, else Latin-1. */
export function decodeDbcBytes(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}
