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
import { parseChallenges } from './challenge.js';
import type { Credential, CredentialStore } from './credentials.js';
import { strongestOffered, type AuthSession, type Entropy } from './scheme.js';

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
    let session = store.sessionFor(req.url, ctx.requestedOrigins);
    // Credentials already answered from a challenge on this request: each is tried once (httplib2).
    const tried = new Set<Credential>();
    let renewed = false; // a stale nonce was followed once
    for (;;) {
      let sent: AuthSession | null = null;
      let hop = req;
      if (session) {
        const auth = session.authorize(req, entropy());
        // Synchronously, before any await: a concurrent request takes the next nonce count.
        store.advance(session, auth.next);
        sent = auth.next;
        hop = { ...req, headers: withHeaders(req.headers, auth.headers) };
      }
      const exchange = await next(hop, ctx);
      if (sent) {
        const after = withResponse(exchange, () => sent!.afterResponse(exchange.response));
        if (after.kind === 'keep') {
          store.advance(sent, after.session);
          store.remember(req.url, after.session);
          return exchange;
        }
        if (after.kind === 'renew' && !renewed) {
          // RFC 7616 §3.3 stale=true: the credentials were right; answer the new nonce, once.
          renewed = true;
          store.advance(sent, after.session);
          session = after.session;
          continue;
        }
        store.forget(sent);
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
  const offered = strongestOffered(parseChallenges(exchange.response.get('www-authenticate')));
  if (!offered) return null;
  return withResponse(exchange, () => offered.scheme.open(offered.challenges, credential));
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
