/**
 * Parses `WWW-Authenticate` / `Proxy-Authenticate` values into challenges (RFC 9110 §11.6.1): several
 * challenges per value, including repeated fields joined with ", ", quoted strings with escapes,
 * token68, case-insensitive scheme and parameter names. One forward scan with bounded look-ahead:
 * it must never use a backtracking regex (httplib2's CVE-2021-21240) and never throws on bad input.
 */

/** One challenge: `scheme` lower-cased, either a token68 or parameters (names lower-cased). */
export interface Challenge {
  readonly scheme: string;
  readonly token68: string | null;
  /** Parameter values with quoted-string escapes removed; the first of a repeated name wins. */
  readonly params: ReadonlyMap<string, string>;
}

/** Values longer than this are refused (an empty list): no real challenge comes near it. */
export const MAX_CHALLENGE_LENGTH = 64 * 1024;

/** Values with more list elements (challenges plus parameters) than this are refused too. */
export const MAX_CHALLENGE_ELEMENTS = 256;

// RFC 9110 §5.6.2 tchar, and the token68 alphabet (§11.2) which adds "/" (the others are tchars).
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}
const SLASH = 0x2f;
const SP = 0x20;
const HTAB = 0x09;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const QUOTED_PAIR = /\\([^])/g;

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

// The run reader accepts token68 characters; whether the run is a token is checked where it matters.
function isRunChar(c: number): boolean {
  return isTchar(c) || c === SLASH;
}

interface Draft {
  scheme: string;
  token68: string | null;
  params: Map<string, string>;
}

/**
 * Parses one header value (or several joined with ", ") into its challenges, in order.
 * Malformed elements are skipped up to the next comma; a value over {@link MAX_CHALLENGE_LENGTH}
 * gives an empty list.
 */
export function parseChallenges(value: string | undefined | null): Challenge[] {
  if (!value || value.length > MAX_CHALLENGE_LENGTH) return [];
  return new Scanner(value).run(null);
}

/**
 * Parses a bare list of auth-params, as in `Authentication-Info` (RFC 9110 §11.6.3, RFC 7616 §3.5).
 * Names are lower-cased; malformed elements are skipped.
 */
export function parseAuthParams(value: string | undefined | null): ReadonlyMap<string, string> {
  const params = new Map<string, string>();
  if (!value || value.length > MAX_CHALLENGE_LENGTH) return params;
  new Scanner(value).run({ scheme: '', token68: null, params });
  return params;
}

class Scanner {
  readonly #s: string;
  #pos = 0;
  readonly #out: Draft[] = [];

  constructor(s: string) {
    this.#s = s;
  }

  /** `initial`: the challenge that parameters before any scheme belong to (none for challenges). */
  run(initial: Draft | null): Challenge[] {
    let current: Draft | null = initial;
    for (let elements = 1; ; elements++) {
      this.#skipListSeparators();
      if (this.#pos >= this.#s.length) break;
      // A bound on the work per value, whatever its shape: thousands of parameters are an attack.
      if (elements > MAX_CHALLENGE_ELEMENTS) {
        this.#out.length = 0;
        initial?.params.clear();
        break;
      }
      const run = this.#readRun();
      if (run === '' || !isToken(run)) {
        this.#recover();
        continue;
      }
      const spaces = this.#skipWs();
      if (this.#peek() === EQUALS) {
        // `name = value` inside the current challenge (RFC 9110 §11.2 auth-param, BWS allowed).
        if (!current || !this.#param(current, run)) this.#recover();
        continue;
      }
      // Anything else starts a new challenge named by `run`.
      current = { scheme: run.toLowerCase(), token68: null, params: new Map() };
      this.#out.push(current);
      if (spaces > 0 && !this.#atElementEnd()) this.#firstAfterScheme(current);
    }
    return this.#out.map((d) => Object.freeze({ scheme: d.scheme, token68: d.token68, params: d.params }));
  }

  // After `scheme 1*SP`: either a token68 (which may end in "=") or the first auth-param.
  #firstAfterScheme(current: Draft): void {
    const run = this.#readRun();
    if (run === '') {
      this.#recover();
      return;
    }
    const afterRun = this.#pos;
    const s = this.#s;
    let end = afterRun;
    while (end < s.length && s.charCodeAt(end) === EQUALS) end++;
    this.#pos = end;
    this.#skipWs();
    if (this.#atElementEnd()) {
      current.token68 = s.slice(afterRun - run.length, end);
      return;
    }
    // Not a token68: step back over the "=" run (bounded look-ahead, so still linear) and read a param.
    this.#pos = afterRun;
    if (!isToken(run)) {
      this.#recover();
      return;
    }
    this.#skipWs();
    if (this.#peek() !== EQUALS || !this.#param(current, run)) this.#recover();
  }

  // At "=": reads BWS, then a token or quoted-string, then expects the element to end.
  #param(current: Draft, name: string): boolean {
    this.#pos++; // "="
    this.#skipWs();
    const value = this.#peek() === DQUOTE ? this.#quoted() : this.#token();
    if (value === null) return false;
    this.#skipWs();
    if (!this.#atElementEnd()) return false;
    const key = name.toLowerCase();
    // RFC 9110 §11.2: a parameter name occurs once per challenge; the first one is kept.
    if (!current.params.has(key)) current.params.set(key, value);
    return true;
  }

  // The hot loops work on locals: private field access per character is measurably slower.
  #token(): string | null {
    const s = this.#s;
    const start = this.#pos;
    let i = start;
    while (i < s.length && isTchar(s.charCodeAt(i))) i++;
    this.#pos = i;
    return i > start ? s.slice(start, i) : null;
  }

  // RFC 9110 §5.6.4: quoted-string with quoted-pair; controls other than HTAB make it malformed
  // (null), and the scan still ends after the closing quote so recovery starts outside the string.
  #quoted(): string | null {
    const s = this.#s;
    const start = ++this.#pos; // past the opening quote
    let bad = false;
    let escapes = false;
    let i = start;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === DQUOTE) {
        this.#pos = i + 1;
        if (bad) return null;
        const raw = s.slice(start, i);
        // One native pass over the finished string; the pattern has no alternation to backtrack into.
        return escapes ? raw.replace(QUOTED_PAIR, '$1') : raw;
      }
      if (c === BACKSLASH) {
        escapes = true;
        i++;
        if (i >= s.length) break;
      }
      if (isControl(s.charCodeAt(i))) bad = true;
      i++;
    }
    this.#pos = s.length;
    return null; // unterminated
  }

  #readRun(): string {
    const s = this.#s;
    const start = this.#pos;
    let i = start;
    while (i < s.length && isRunChar(s.charCodeAt(i))) i++;
    this.#pos = i;
    return s.slice(start, i);
  }

  #skipWs(): number {
    const s = this.#s;
    const start = this.#pos;
    let i = start;
    for (let c = s.charCodeAt(i); c === SP || c === HTAB; c = s.charCodeAt(++i));
    this.#pos = i;
    return i - start;
  }

  // RFC 9110 §5.6.1: empty list elements and OWS around commas are allowed.
  #skipListSeparators(): void {
    const s = this.#s;
    let i = this.#pos;
    for (let c = s.charCodeAt(i); c === SP || c === HTAB || c === COMMA; c = s.charCodeAt(++i));
    this.#pos = i;
  }

  #atElementEnd(): boolean {
    return this.#pos >= this.#s.length || this.#peek() === COMMA;
  }

  #peek(): number {
    return this.#pos < this.#s.length ? this.#s.charCodeAt(this.#pos) : -1;
  }

  // Skips a malformed element: forward to the next comma outside a quoted string.
  #recover(): void {
    const s = this.#s;
    let quoted = false;
    let i = this.#pos;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (quoted && c === BACKSLASH) i++;
      else if (c === DQUOTE) quoted = !quoted;
      else if (c === COMMA && !quoted) break;
    }
    this.#pos = Math.min(i, s.length);
  }
}

function isToken(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isTchar(s.charCodeAt(i))) return false;
  return s.length > 0;
}

function isControl(c: number): boolean {
  return (c < 0x20 && c !== HTAB) || c === 0x7f;
}

/** RFC 9110 §5.6.4: `value` as a quoted-string, with `"` and `\` escaped. */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * Text the caller gave (a user name) as header bytes: header values travel as latin1 byte strings,
 * so non-ASCII text goes out as its UTF-8 bytes.
 */
export function utf8Bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}
