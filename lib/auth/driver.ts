/**
 * The authentication layer, `withAuth(next)`: sends an earlier answer pre-emptively inside its
 * protection space, answers a 401 with each credential that applies in turn (the strongest scheme
 * offered), follows a stale nonce once, and records what worked. It carries out what the pure schemes
 * return; it must never try a credential twice on one request (no loop on a wrong password), never
 * answer for an origin the credentials do not apply to, and never replace an Authorization header
 * the caller set.
 */
import { randomBytes } from 'node:crypto';
import { UnimplementedDigestAuthOptionError, UnimplementedHmacDigestAuthOptionError } from '../errors.js';
import { withHeaders } from '../headers.js';
import { speakerOf } from '../identity.js';
import type { Exchange, HopRequest, RequestContext, Send } from '../types.js';
import { requestTarget } from '../uri.js';
import { colonInUserError } from './basic.js';
import { parseChallenges } from './challenge.js';
import type { Credential, CredentialStore } from './credentials.js';
import { ORIGIN_REALM } from './realm.js';
import { strongestOffered } from './registry.js';
import type { AuthSession, Entropy, SignedRequest } from './session.js';

/** Options of {@link withAuth}: the credentials it answers with; tests inject the client nonce. */
export interface AuthLayerOptions {
  /** The Http's registered credentials and the protection spaces they opened. */
  readonly credentials: CredentialStore;
  /** A fresh client nonce per authorization. @default 32 hex characters from crypto.randomBytes */
  readonly cnonce?: () => string;
}

// 128 bits from the CSPRNG: never repeated across requests or Http instances (RFC 7616 §5.12).
const randomCnonce = (): string => randomBytes(16).toString('hex');

/** Wraps `next` with authentication from `options.credentials`. */
export function withAuth(next: Send, options: AuthLayerOptions): Send {
  const cnonce = options.cnonce ?? randomCnonce;
  const store = options.credentials;
  return async (req: HopRequest, ctx: RequestContext): Promise<Exchange> => {
    // The caller's own Authorization wins: we neither replace it nor answer challenges for it.
    // After an https → http hop nothing credential-like goes out, whatever the domain (#18).
    if (store.size === 0 || req.downgraded || speakerOf(req, store, ctx.requestedOrigins).kind !== 'registered') return next(req, ctx);
    const entropy = (): Entropy => ({ cnonce: cnonce(), now: ctx.clock.now() });
    const signed: SignedRequest = { method: req.method, target: requestTarget(req.url), headers: req.headers, body: req.body };
    let session = store.sessionFor(req.url, ctx.requestedOrigins);
    // What `session` succeeds on this request (a renewed nonce): replaced wherever it is remembered.
    let lineage: AuthSession[] = [];
    // Credentials already answered from a challenge on this request: each is tried once (httplib2).
    const tried = new Set<Credential>();
    let renewed = false; // a stale nonce was followed once
    for (;;) {
      // Digest takes its nonce count here, synchronously: a concurrent request takes the next one.
      const hop = session ? { ...req, headers: withHeaders(req.headers, session.authorize(signed, entropy())) } : req;
      const exchange = await next(hop, ctx);
      if (session) {
        const sent = session;
        const after = withResponse(exchange, () => sent.afterResponse(exchange.response));
        if (after.kind === 'keep') {
          store.remember(req.url, after.session, after.session === sent ? lineage : [...lineage, sent]);
          return exchange;
        }
        if (after.kind === 'renew' && !renewed) {
          // RFC 7616 §3.3 stale=true: the credentials were right; answer the new nonce, once.
          renewed = true;
          lineage = [...lineage, sent];
          session = after.session;
          continue;
        }
        for (const s of [...lineage, sent]) store.forget(s);
        lineage = [];
      }
      if (exchange.response.status !== 401) return exchange;
      session = openFromChallenge(exchange, req, ctx, store, tried);
      if (!session) return exchange;
      tried.add(session.credential);
    }
  };
}

// The session answering a 401 with the next credential not yet tried (registration order, as
// httplib2's `_auth_from_challenge` walks `credentials.iter(host)`), through the strongest scheme
// offered; null when every applicable credential was tried, nothing offered is implemented, or the
// challenge cannot be answered (then no weaker scheme is tried). Each 401 is read anew: a Digest
// server sends a fresh nonce with each refusal.
function openFromChallenge(
  exchange: Exchange, req: HopRequest, ctx: RequestContext, store: CredentialStore, tried: ReadonlySet<Credential>,
): AuthSession | null {
  const credential = store.candidates(req.url, ctx.requestedOrigins).find((c) => !tried.has(c));
  if (!credential) return null;
  const offered = strongestOffered(parseChallenges(exchange.response.get('www-authenticate')), ORIGIN_REALM);
  if (!offered) return null;
  const opened = withResponse(exchange, () => offered.scheme.open(offered.challenges, credential, ORIGIN_REALM));
  if (opened.kind === 'session') return opened.session;
  if (opened.why === 'colon-in-user') throw colonInUserError();
  return null;
}

// Schemes raise their Unimplemented errors without a response; the caller gets the 401 with them.
function withResponse<T>(exchange: Exchange, f: () => T): T {
  try {
    return f();
  } catch (error) {
    const details = { response: exchange.response, content: exchange.content, cause: error };
    if (error instanceof UnimplementedDigestAuthOptionError && !error.response) {
      throw new UnimplementedDigestAuthOptionError(error.message, details);
    }
    if (error instanceof UnimplementedHmacDigestAuthOptionError && !error.response) {
      throw new UnimplementedHmacDigestAuthOptionError(error.message, details);
    }
    throw error;
  }
}
