/**
 * The fake next layer the driver specs use (spec/helpers/fake-next.ts): it answers from a script and
 * counts, and the layers run over it as they run in an Http, without a socket.
 */
import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { withAuth } from '../../lib/auth/driver.js';
import { CredentialStore } from '../../lib/auth/credentials.js';
import { withCache } from '../../lib/cache/driver.js';
import { MemoryCache } from '../../lib/cache/memory-cache.js';
import { IdentityDigests } from '../../lib/identity.js';
import { ACCEPT_ENCODING, decoding } from '../../lib/transport/decode.js';
import { aContext, anExchange, aRequest, fakeClock, fakeNext, T0 } from '../helpers/fake-next.js';

describe('fake next layer (driving a layer without sockets)', () => {
  it('answers from its script in order, repeats the last answer, and counts what it was sent', async () => {
    const fake = fakeNext(anExchange(503), (_req, n) => anExchange(200, {}, `call ${n}`));
    const ctx = aContext();
    expect((await fake.send(aRequest('http://a.test/1'), ctx)).response.status).to.equal(503);
    expect((await fake.send(aRequest('http://a.test/2'), ctx)).content.toString()).to.equal('call 1');
    expect((await fake.send(aRequest('http://a.test/3'), ctx)).content.toString()).to.equal('call 2');
    expect(fake.count()).to.equal(3);
    expect(fake.requests.map((r) => r.url.pathname)).to.deep.equal(['/1', '/2', '/3']);
  });

  it('rejects with a scripted error', async () => {
    const fake = fakeNext(new TypeError('boom'));
    const failure = await fake.send(aRequest('http://a.test/'), aContext()).catch((e: unknown) => e);
    expect(failure).to.be.instanceOf(TypeError);
    expect(fake.count()).to.equal(1);
  });

  it('gives a context with default settings, a clock moved by hand, and the notes layers made', () => {
    const clock = fakeClock();
    const ctx = aContext({ url: 'https://a.test/x', clock });
    clock.advance(1500);
    ctx.note('fresh: max-age=60');
    expect(ctx.clock.now()).to.equal(T0 + 1500);
    expect(ctx.notes).to.deep.equal(['fresh: max-age=60']);
    expect([...ctx.requestedOrigins]).to.deep.equal(['https://a.test:443']);
    expect(ctx.settings.redirectCodes.has(308)).to.equal(true);
    expect(Object.isFrozen(ctx)).to.equal(true);
  });

  it('drives the decoding layer: Accept-Encoding is asked for and the body decoded', async () => {
    const gzipped = { response: anExchange(200, { 'content-encoding': 'gzip' }).response, content: gzipSync('hello') };
    const layer = decoding(fakeNext(gzipped).send);
    const { response, content } = await layer(aRequest('http://a.test/'), aContext());
    expect(content.toString()).to.equal('hello');
    expect(response.get('content-length')).to.equal('5');
    const asked = fakeNext(anExchange());
    await decoding(asked.send)(aRequest('http://a.test/'), aContext());
    expect(asked.requests[0]!.headers['accept-encoding']).to.equal(ACCEPT_ENCODING);
  });

  it('drives the auth layer: a 401 is answered once with the registered credentials', async () => {
    const credentials = new CredentialStore();
    credentials.add('joe', 'pw');
    const fake = fakeNext(anExchange(401, { 'www-authenticate': 'Basic realm="r"' }), anExchange(200, {}, 'in'));
    const layer = withAuth(fake.send, { credentials });
    const { response, content } = await layer(aRequest('http://a.test/secret'), aContext({ url: 'http://a.test/secret', credentials }));
    expect([response.status, content.toString()]).to.deep.equal([200, 'in']);
    expect(fake.count()).to.equal(2);
    expect(fake.requests[1]!.headers['authorization']).to.equal(`Basic ${Buffer.from('joe:pw').toString('base64')}`);
  });

  it('drives the cache layer: a fresh entry answers without calling next, and the decisions are noted', async () => {
    const fake = fakeNext(anExchange(200, { 'cache-control': 'max-age=60' }, 'kept'));
    const layer = withCache(fake.send, new IdentityDigests());
    const ctx = aContext({ cache: new MemoryCache() });
    await layer(aRequest('http://a.test/doc'), ctx);
    const { response, content } = await layer(aRequest('http://a.test/doc'), ctx);
    expect([response.fromcache, content.toString()]).to.deep.equal([true, 'kept']);
    expect(fake.count()).to.equal(1);
    expect(ctx.notes.some((line) => line.startsWith('fresh'))).to.equal(true);
  });
});
