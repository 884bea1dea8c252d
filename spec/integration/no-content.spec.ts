import { expect } from 'chai';
import type { Socket } from 'node:net';
import { Http, MemoryCache } from '../../lib/index.js';
import { startRawServer } from '../helpers/server.js';

// RFC 9110 §8.6: a server may send Content-Length in a 304 (the size of the selected representation)
// and in the answer to HEAD (the size a GET would get). RFC 9112 §6.3: such a message still ends with
// its header section. The raw server below writes exactly these heads.

/** Answers every request on a connection with `answer(head)`, keep-alive; counts the requests. */
async function rawServer(answer: (head: string) => string) {
  let requests = 0;
  const server = await startRawServer((socket: Socket, first: Buffer) => {
    const reply = (chunk: Buffer) => {
      requests++;
      socket.write(answer(chunk.toString('latin1')));
    };
    reply(first);
    socket.on('data', reply);
  });
  return { url: server.url, requests: () => requests };
}

describe('answers without content that carry Content-Length (RFC 9110 §8.6)', () => {
  let http: Http;
  afterEach(() => http.close());

  it('a revalidation answered by a 304 with Content-Length returns the cached 200 with its body and Content-Length', async () => {
    const server = await rawServer((head) =>
      /if-none-match: "v1"/i.test(head)
        ? 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nCache-Control: no-cache\r\nContent-Length: 11\r\n\r\n'
        : 'HTTP/1.1 200 OK\r\nETag: "v1"\r\nCache-Control: no-cache\r\nContent-Length: 11\r\n\r\nhello world',
    );
    http = new Http(new MemoryCache());
    const [first, firstContent] = await http.request(server.url('/feed'));
    expect(first.status).to.equal(200);
    expect(firstContent.toString()).to.equal('hello world');

    for (let i = 0; i < 2; i++) {
      const [again, content] = await http.request(server.url('/feed'));
      expect(again.status).to.equal(200);
      expect(again.fromcache).to.equal(true);
      expect(again.cacheStatus.at(-1)).to.equal('revalidated: 304 via If-None-Match');
      expect(content.toString()).to.equal('hello world');
      expect(again.get('content-length')).to.equal('11');
    }
    expect(server.requests()).to.equal(3);
  });

  it('a 304 whose Content-Length differs from the stored one never changes the stored Content-Length', async () => {
    const server = await rawServer((head) =>
      /if-none-match/i.test(head)
        ? 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nCache-Control: no-cache\r\nContent-Length: 99999\r\n\r\n'
        : 'HTTP/1.1 200 OK\r\nETag: "v1"\r\nCache-Control: no-cache\r\nContent-Length: 5\r\n\r\nhello',
    );
    http = new Http(new MemoryCache());
    await http.request(server.url('/r'));
    const [again, content] = await http.request(server.url('/r'));
    expect(again.fromcache).to.equal(true);
    expect(content.toString()).to.equal('hello');
    expect(again.get('content-length')).to.equal('5');
  });

  it("a 304 with Content-Length to the caller's own conditional GET (no cache) comes back as an empty 304", async () => {
    const server = await rawServer(() => 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 11\r\n\r\n');
    http = new Http();
    const [response, content] = await http.request(server.url('/r'), 'GET', null, { 'if-none-match': '"v1"' });
    expect(response.status).to.equal(304);
    expect(content.length).to.equal(0);
    expect(response.get('content-length')).to.equal('11');
  });

  it('a HEAD answer declaring more than maxBodySize is an empty 200 that keeps its Content-Length', async () => {
    const server = await rawServer(() => 'HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 4294967296\r\n\r\n');
    http = new Http(null, { maxBodySize: 1024 });
    const [response, content] = await http.request(server.url('/movie.mp4'), 'HEAD');
    expect(response.status).to.equal(200);
    expect(content.length).to.equal(0);
    expect(response.get('content-length')).to.equal('4294967296');
  });

  it('with a deadline set too (the answer is raced against the signal)', async () => {
    const server = await rawServer(() => 'HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n');
    http = new Http(null, { timeout: 10_000 });
    const [response, content] = await http.request(server.url('/r'), 'DELETE');
    expect(response.status).to.equal(204);
    expect(content.length).to.equal(0);
  });
});
