/**
 * The authentication layer, `withAuth(next)`: runs the auth dialogue (dialogue.ts) with the origin's
 * realm over `next`, and keeps what it learned in the credential store: an accepted session for its
 * protection space (sent pre-emptively there next time), refused ones forgotten. It must never answer
 * for an origin the credentials do not apply to, never send a credential after an https → http hop,
 * and never replace an Authorization header the caller set.
 */
import { randomBytes } from 'node:crypto';
import { UnimplementedDigestAuthOptionError, UnimplementedHmacDigestAuthOptionError } from '../errors.js';
import { withHeaders, type HeaderRecord } from '../headers.js';
import { speakerOf } from '../identity.js';
import type { Exchange, HopRequest, RequestContext, Send } from '../types.js';
import { requestTarget } from '../uri.js';
import { colonInUserError } from './basic.js';
import { converse } from './converse.js';
import type { CredentialStore } from './credentials.js';
import { dialogue, type Ending, type Refusal } from './dialogue.js';
import { ORIGIN_REALM } from './realm.js';

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
    // After an https → http hop nothing credential-like goes out, whatever the domain (#18).
    if (store.size === 0 || req.downgraded) return next(req, ctx);
    // The caller's own Authorization wins: we neither replace it nor answer challenges for it.
    const speaker = speakerOf(req, store, ctx.requestedOrigins);
    if (speaker.kind !== 'registered') return next(req, ctx);
    const talk = dialogue({
      realm: ORIGIN_REALM,
      target: { method: req.method, target: requestTarget(req.url), headers: req.headers, body: req.body },
      upfront: store.sessionFor(req.url, ctx.requestedOrigins),
      candidates: speaker.candidates,
      entropy: () => ({ cnonce: cnonce(), now: ctx.clock.now() }),
    });
    const { ending, last } = await converse(talk, {
      send: async (move) => {
        const exchange = await next(withFields(req, move.fields), ctx);
        return { head: exchange.response, value: exchange };
      },
      // The exchange is read whole by the layers below: nothing to release.
      discard: () => undefined,
    });
    keep(store, ending, req.url);
    if (ending.kind === 'unanswered') raise(ending.why, last);
    return last;
  };
}

function withFields(req: HopRequest, fields: Readonly<HeaderRecord>): HopRequest {
  return Object.keys(fields).length === 0 ? req : { ...req, headers: withHeaders(req.headers, fields) };
}

// What the dialogue learned: the accepted session for the space of `url` (in place of the stale or
// used-up nonces it succeeds), and refused sessions forgotten wherever they are remembered.
function keep(store: CredentialStore, ending: Ending, url: URL): void {
  for (const refused of ending.refused) store.forget(refused);
  if (ending.kind === 'accepted' && ending.session) store.remember(url, ending.session, ending.replaces);
}

// An unanswered 401 goes back to the caller as it is, except for what is the caller's to fix: a
// scheme option this library does not implement (the error carries the 401, as httplib2's does) and a
// Basic user name containing ":".
function raise(why: Refusal, last: Exchange): void {
  if (why.kind === 'cannot' && why.why === 'colon-in-user') throw colonInUserError();
  if (why.kind !== 'unimplemented') return;
  if (why.error.response) throw why.error;
  const details = { response: last.response, content: last.content, cause: why.error };
  if (why.error instanceof UnimplementedDigestAuthOptionError) throw new UnimplementedDigestAuthOptionError(why.error.message, details);
  throw new UnimplementedHmacDigestAuthOptionError(why.error.message, details);
}
