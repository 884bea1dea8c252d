/**
 * The SOCKS5 handshake as pure functions: the client's messages (RFC 1928 §3-§4, RFC 1929 §2) and
 * the reading of the proxy's replies. Each reader takes the bytes received so far and says whether
 * they are incomplete, accepted (and how many bytes were the reply) or a refusal with its reason.
 * No sockets here; socks5-hop.ts does the I/O.
 */

const VERSION = 5;
const NO_AUTH = 0x00;
const USER_PASSWORD = 0x02;
const NO_ACCEPTABLE = 0xff;
const AUTH_VERSION = 1;
const CONNECT = 1;

/** The user name and password of RFC 1929. */
export interface SocksCredentials {
  readonly user: string;
  readonly password: string;
}

/** What a reader made of the bytes received so far. */
export type SocksReply =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'accepted'; readonly length: number; readonly method?: 'none' | 'user-password' }
  | { readonly kind: 'refused'; readonly reason: string };

const INCOMPLETE: SocksReply = { kind: 'incomplete' };

/**
 * Why RFC 1929 cannot carry these credentials (a length byte each), or null when it can. Checked
 * before anything is sent. An empty password is sent empty, as curl does for `user@` alone.
 */
export function credentialsProblem(credentials: SocksCredentials): string | null {
  const user = Buffer.byteLength(credentials.user);
  const password = Buffer.byteLength(credentials.password);
  if (user < 1 || user > 255) return `the user name is ${user} bytes long; SOCKS5 carries 1 to 255 (RFC 1929)`;
  if (password > 255) return `the password is ${password} bytes long; SOCKS5 carries at most 255 (RFC 1929)`;
  return null;
}

/** The greeting: no authentication, and user/password when there are credentials (curl offers both too). */
export function greeting(hasCredentials: boolean): Buffer {
  return Buffer.from(hasCredentials ? [VERSION, 2, NO_AUTH, USER_PASSWORD] : [VERSION, 1, NO_AUTH]);
}

/** The proxy's choice among the offered methods (RFC 1928 §3). */
export function readMethodChoice(bytes: Buffer, hasCredentials: boolean): SocksReply {
  if (bytes.length < 2) return INCOMPLETE;
  if (bytes[0] !== VERSION) return { kind: 'refused', reason: `answered the greeting with version ${bytes[0]}, not SOCKS5` };
  const method = bytes[1];
  if (method === NO_AUTH) return { kind: 'accepted', length: 2, method: 'none' };
  if (method === USER_PASSWORD && hasCredentials) return { kind: 'accepted', length: 2, method: 'user-password' };
  if (method === NO_ACCEPTABLE) {
    return {
      kind: 'refused',
      reason: hasCredentials
        ? 'accepts none of the offered authentication methods (none, user/password)'
        : 'requires authentication: give the ProxyInfo a user and password',
    };
  }
  return { kind: 'refused', reason: `chose authentication method ${method}, which was not offered` };
}

/** The RFC 1929 request; `credentials` must have passed {@link credentialsProblem}. */
export function authRequest(credentials: SocksCredentials): Buffer {
  const user = Buffer.from(credentials.user, 'utf8');
  const password = Buffer.from(credentials.password, 'utf8');
  return Buffer.concat([Buffer.from([AUTH_VERSION, user.length]), user, Buffer.from([password.length]), password]);
}

/** The proxy's verdict on the credentials (RFC 1929 §2: any status but 0 is a failure). */
export function readAuthReply(bytes: Buffer, user: string): SocksReply {
  if (bytes.length < 2) return INCOMPLETE;
  if (bytes[1] === 0) return { kind: 'accepted', length: 2 };
  return { kind: 'refused', reason: `refused the credentials of user ${JSON.stringify(user)} (RFC 1929 status ${bytes[1]})` };
}

/**
 * The CONNECT request for `host:port`. An IP literal goes as an address; a name goes as a name, so
 * the proxy resolves it (what curl calls socks5h): the client's resolver never sees it.
 */
export function connectRequest(host: string, port: number): Buffer {
  const name = host.replace(/^\[|\]$/g, '');
  const head = [VERSION, CONNECT, 0];
  let address: Buffer;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  if (v4) address = Buffer.from([1, ...v4.slice(1).map(Number)]);
  else if (name.includes(':')) address = Buffer.concat([Buffer.from([4]), ipv6Bytes(name)]);
  else {
    const bytes = Buffer.from(name, 'utf8');
    address = Buffer.concat([Buffer.from([3, bytes.length]), bytes]);
  }
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port);
  return Buffer.concat([Buffer.from(head), address, portBytes]);
}

// A WHATWG URL host is already a canonical, valid IPv6 literal: only `::` needs expanding.
function ipv6Bytes(address: string): Buffer {
  const [left = '', right] = address.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const tail = groups(right ?? '');
  const head = groups(left);
  const all = right === undefined ? head : [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

// RFC 1928 §6, REP values.
const REPLIES: Readonly<Record<number, string>> = {
  1: 'general SOCKS server failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

/** The proxy's answer to CONNECT (RFC 1928 §6); its length depends on the bound address type. */
export function readConnectReply(bytes: Buffer, target: string): SocksReply {
  if (bytes.length < 5) return INCOMPLETE;
  if (bytes[0] !== VERSION) return { kind: 'refused', reason: `answered CONNECT with version ${bytes[0]}, not SOCKS5` };
  const reply = bytes[1]!;
  if (reply !== 0) return { kind: 'refused', reason: `refused CONNECT ${target}: ${REPLIES[reply] ?? `reply ${reply}`}` };
  const type = bytes[3];
  const address = type === 1 ? 4 : type === 4 ? 16 : type === 3 ? 1 + bytes[4]! : -1;
  if (address < 0) return { kind: 'refused', reason: `answered CONNECT with address type ${type}` };
  const length = 4 + address + 2;
  return bytes.length < length ? INCOMPLETE : { kind: 'accepted', length };
}
