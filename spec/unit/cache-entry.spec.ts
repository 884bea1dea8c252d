/**
 * The stored form of an entry: versioned, checksummed, binary-safe; anything else reads as a miss.
 */
import { expect } from 'chai';
import { crc32 } from 'node:zlib';
import { ENTRY_VERSION, parseEntry, serialiseEntry, type CacheEntry } from '../../lib/cache/entry.js';

function anEntry(over: Partial<CacheEntry> = {}): CacheEntry {
  return {
    key: 'http://a.test/doc',
    status: 200,
    reason: 'OK',
    version: 11,
    headers: Object.assign(Object.create(null), { 'content-type': 'application/octet-stream', etag: '"v1"', ['__proto__']: 'plain' }),
    vary: Object.assign(Object.create(null), { 'accept-language': 'en', accept: null }),
    identity: 'user:alice',
    requestTime: 1_700_000_000_000,
    responseTime: 1_700_000_000_250,
    body: Buffer.from([0, 255, 13, 10, 0x89, 0x50, 0x4e, 0x47, 0]),
    ...over,
  };
}

describe('cache entry serialisation', () => {
  it('round-trips head, Vary-selected headers, identity, times and binary body byte for byte', () => {
    const entry = anEntry();
    const back = parseEntry(serialiseEntry(entry));
    expect(back).to.not.equal(null);
    expect({ ...back!, headers: { ...back!.headers }, vary: { ...back!.vary } }).to.deep.equal({
      ...entry, headers: { ...entry.headers }, vary: { ...entry.vary },
    });
    expect(back!.headers['__proto__']).to.equal('plain');
    // Nothing inherited: a name that Object.prototype has is not a field unless the entry has it.
    for (const name of ['toString', 'constructor', 'hasOwnProperty']) expect(name in back!.headers, name).to.equal(false);
    expect(back!.headers['constructor']).to.equal(undefined);
    expect(Object.isFrozen(back!.headers)).to.equal(false);
  });

  it("round-trips the origin's not-before time, and reads an entry without one as before (#11)", () => {
    expect(parseEntry(serialiseEntry(anEntry({ notBefore: 1_700_000_360_250 })))!.notBefore).to.equal(1_700_000_360_250);
    const without = parseEntry(serialiseEntry(anEntry()))!;
    expect('notBefore' in without).to.equal(false);
    // Written without the field, an entry is byte for byte what it was before the field existed.
    expect(serialiseEntry(anEntry({ notBefore: undefined })).equals(serialiseEntry(anEntry()))).to.equal(true);
  });

  it('round-trips an empty body and a large one', () => {
    expect(parseEntry(serialiseEntry(anEntry({ body: Buffer.alloc(0) })))!.body.length).to.equal(0);
    const big = Buffer.alloc(1 << 20, 7);
    expect(parseEntry(serialiseEntry(anEntry({ body: big })))!.body.equals(big)).to.equal(true);
  });

  it('accepts a Uint8Array and a latin1 or base64 string, as some stores return', () => {
    const bytes = serialiseEntry(anEntry());
    expect(parseEntry(new Uint8Array(bytes))).to.not.equal(null);
    expect(parseEntry(bytes.toString('latin1'))).to.not.equal(null);
    expect(parseEntry(bytes.toString('base64'))).to.not.equal(null);
  });

  it('reads a flipped bit anywhere as a miss', () => {
    const bytes = serialiseEntry(anEntry());
    for (const at of [0, 5, 9, 20, bytes.length - 40, bytes.length - 1]) {
      const copy = Buffer.from(bytes);
      copy[at] = copy[at]! ^ 0x01;
      expect(parseEntry(copy), `bit flipped at ${at}`).to.equal(null);
    }
  });

  it('reads a truncated entry, an empty one and garbage as a miss', () => {
    const bytes = serialiseEntry(anEntry());
    for (const cut of [0, 1, 8, bytes.length - 1]) expect(parseEntry(bytes.subarray(0, cut))).to.equal(null);
    for (const junk of [null, undefined, 42, {}, [], 'hello', Buffer.from('{"status":200}')]) expect(parseEntry(junk)).to.equal(null);
  });

  it('reads another format version as a miss, even with a valid checksum', () => {
    const bytes = Buffer.from(serialiseEntry(anEntry()));
    bytes[4] = ENTRY_VERSION + 1;
    expect(parseEntry(signed(bytes.subarray(0, bytes.length - 4)))).to.equal(null);
  });

  it('reads a well-signed entry with a malformed head as a miss', () => {
    const json = Buffer.from(JSON.stringify({ key: 'k', status: 'two hundred' }));
    const prefix = Buffer.alloc(9);
    prefix.write('HL2C', 0, 'latin1');
    prefix.writeUInt8(ENTRY_VERSION, 4);
    prefix.writeUInt32BE(json.length, 5);
    const unsigned = Buffer.concat([prefix, json]);
    expect(parseEntry(signed(unsigned))).to.equal(null);
  });
});

/** `bytes` followed by their CRC-32, as a well-formed entry ends. */
function signed(bytes: Buffer): Buffer {
  const digest = Buffer.alloc(4);
  digest.writeUInt32BE(crc32(bytes));
  return Buffer.concat([bytes, digest]);
}
