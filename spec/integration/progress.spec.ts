import { expect } from 'chai';
import { Http } from '../../lib/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('RequestOptions.onProgress', () => {
  let server: TestServer;
  let http: Http;

  before(async () => {
    server = await startServer((req, res) => {
      const chunk = Buffer.alloc(1000, 'a');
      if (req.url === '/chunked') {
        res.write(chunk);
        setImmediate(() => res.end(chunk));
        return;
      }
      res.setHeader('content-length', '3000');
      res.write(chunk);
      setImmediate(() => {
        res.write(chunk);
        setImmediate(() => res.end(chunk));
      });
    });
  });
  beforeEach(() => {
    http = new Http();
  });
  afterEach(() => http.close());

  it('reports bytes received so far with the Content-Length as total', async () => {
    const seen: Array<[number, number | null]> = [];
    const [, content] = await http.request(server.url('/sized'), { onProgress: (r, t) => seen.push([r, t]) });
    expect(content.length).to.equal(3000);
    expect(seen.length).to.be.at.least(1);
    expect(seen.at(-1)).to.deep.equal([3000, 3000]);
    expect(seen.every(([, t]) => t === 3000)).to.equal(true);
    const received = seen.map(([r]) => r);
    expect(received).to.deep.equal([...received].sort((a, b) => a - b));
  });

  it('reports a null total when the server sent no Content-Length', async () => {
    const seen: Array<[number, number | null]> = [];
    await http.request(server.url('/chunked'), { onProgress: (r, t) => seen.push([r, t]) });
    expect(seen.at(-1)).to.deep.equal([2000, null]);
  });

  it('fails the request when the callback throws', async () => {
    let error: unknown;
    try {
      await http.request(server.url('/sized'), {
        onProgress: () => {
          throw new Error('stop here');
        },
      });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(Error);
  });
});
