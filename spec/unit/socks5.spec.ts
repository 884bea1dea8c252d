import { expect } from 'chai';
import {
  authRequest,
  connectRequest,
  credentialsProblem,
  greeting,
  readAuthReply,
  readConnectReply,
  readMethodChoice,
} from '../../lib/transport/socks5.js';

const hex = (b: Buffer) => b.toString('hex');

describe('SOCKS5 handshake (RFC 1928, RFC 1929)', () => {
  describe('§3 greeting and method choice', () => {
    it('offers no authentication, and user/password only with credentials', () => {
      expect(hex(greeting(false))).to.equal('050100');
      expect(hex(greeting(true))).to.equal('05020002');
    });

    const table: Array<[string, string, boolean, string]> = [
      ['05', 'incomplete', true, ''],
      ['0500', 'accepted', false, 'none'],
      ['0502', 'accepted', true, 'user-password'],
      ['0502', 'refused', false, 'chose authentication method 2, which was not offered'],
      ['05ff', 'refused', false, 'requires authentication: give the ProxyInfo a user and password'],
      ['05ff', 'refused', true, 'accepts none of the offered authentication methods (none, user/password)'],
      ['0400', 'refused', false, 'answered the greeting with version 4, not SOCKS5'],
    ];
    for (const [bytes, kind, withCredentials, detail] of table) {
      it(`${bytes} (credentials: ${withCredentials}) is ${kind} ${detail}`, () => {
        const reply = readMethodChoice(Buffer.from(bytes, 'hex'), withCredentials);
        expect(reply.kind).to.equal(kind);
        if (reply.kind === 'accepted') expect([reply.length, reply.method]).to.deep.equal([2, detail]);
        if (reply.kind === 'refused') expect(reply.reason).to.equal(detail);
      });
    }
  });

  describe('RFC 1929 user/password', () => {
    it('sends version 1, then each field after its length byte', () => {
      expect(hex(authRequest({ user: 'sam', password: 'pw' }))).to.equal(`0103${hex(Buffer.from('sam'))}02${hex(Buffer.from('pw'))}`);
      expect(hex(authRequest({ user: 'é', password: '' }))).to.equal('0102c3a900');
    });

    it('refuses fields a length byte cannot carry, before sending', () => {
      expect(credentialsProblem({ user: 'sam', password: '' })).to.equal(null);
      expect(credentialsProblem({ user: '', password: 'pw' })).to.match(/user name is 0 bytes/);
      expect(credentialsProblem({ user: 'x'.repeat(256), password: 'pw' })).to.match(/user name is 256 bytes/);
      expect(credentialsProblem({ user: 'sam', password: 'é'.repeat(128) })).to.match(/password is 256 bytes/);
    });

    it('status 0 is success; any other status refuses the credentials', () => {
      expect(readAuthReply(Buffer.from('01', 'hex'), 'sam').kind).to.equal('incomplete');
      expect(readAuthReply(Buffer.from('0100', 'hex'), 'sam')).to.deep.equal({ kind: 'accepted', length: 2 });
      expect(readAuthReply(Buffer.from('0101', 'hex'), 'sam')).to.deep.equal({
        kind: 'refused',
        reason: 'refused the credentials of user "sam" (RFC 1929 status 1)',
      });
    });
  });

  describe('§4 CONNECT request and §6 reply', () => {
    const table: Array<[string, number, string]> = [
      ['127.0.0.1', 80, '050100017f0000010050'],
      ['example.org', 443, `050100030b${hex(Buffer.from('example.org'))}01bb`],
      ['[::1]', 8080, `05010004${'0'.repeat(30)}011f90`],
      ['2001:db8::7', 1, '05010004' + '20010db8000000000000000000000007' + '0001'],
    ];
    for (const [host, port, bytes] of table) {
      it(`asks for ${host}:${port}`, () => {
        expect(hex(connectRequest(host, port))).to.equal(bytes);
      });
    }

    it('reads the reply whole, whatever the bound address type', () => {
      const ipv4 = Buffer.from('05000001000000000000', 'hex');
      expect(readConnectReply(ipv4.subarray(0, 9), 'h:1').kind).to.equal('incomplete');
      expect(readConnectReply(ipv4, 'h:1')).to.deep.equal({ kind: 'accepted', length: 10 });
      const name = Buffer.concat([Buffer.from('0500000303', 'hex'), Buffer.from('abc'), Buffer.from('0050', 'hex')]);
      expect(readConnectReply(name.subarray(0, 9), 'h:1').kind).to.equal('incomplete');
      expect(readConnectReply(name, 'h:1')).to.deep.equal({ kind: 'accepted', length: 10 });
      const ipv6 = Buffer.alloc(22);
      ipv6.set([5, 0, 0, 4]);
      expect(readConnectReply(ipv6, 'h:1')).to.deep.equal({ kind: 'accepted', length: 22 });
    });

    it('names the reason of a refusal (§6 REP)', () => {
      expect(readConnectReply(Buffer.from('05050001000000000000', 'hex'), 'h:1')).to.deep.equal({
        kind: 'refused',
        reason: 'refused CONNECT h:1: connection refused',
      });
      expect(readConnectReply(Buffer.from('05020001000000000000', 'hex'), 'h:1')).to.have.property('reason', 'refused CONNECT h:1: connection not allowed by ruleset');
    });
  });
});
