import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Http } from '../../lib/index.js';
import { startApache, type ApacheServer } from '../helpers/apache.js';

// Apache httpd's mod_auth_digest, an independent Digest server (MD5, qop=auth), started on a free
// loopback port with a configuration written here. The pretest provisioning installs apache2.
const REALM = 'apache spec';
const USER = 'mufasa';
const PASSWORD = 'Circle of Life';

const DIRECTIVES = [
  '<Location "/private">',
  '  AuthType Digest',
  `  AuthName "${REALM}"`,
  '  AuthDigestProvider file',
  '  AuthUserFile "{dir}/htdigest"',
  '  AuthDigestDomain /private/',
  '  AuthDigestQop auth',
  // Refuse a replayed or out-of-order nonce count, so the counting is checked.
  '  AuthDigestNcCheck On',
  '  Require valid-user',
  '</Location>',
  // mod_reflector sends a POST's body back; mod_dav stores a PUT's body as a file.
  '<Location "/private/echo">',
  '  SetHandler reflector',
  '</Location>',
  'DAVLockDB "{dir}/davlock/lockdb"',
  '<Location "/private/files">',
  '  Dav On',
  '</Location>',
];

function prepare(dir: string): void {
  // The workers run as nobody: the DAV collection and lock directory must be theirs to write.
  for (const sub of ['htdocs', 'htdocs/private', 'htdocs/private/files', 'davlock']) mkdirSync(join(dir, sub));
  chmodSync(join(dir, 'htdocs/private/files'), 0o777);
  chmodSync(join(dir, 'davlock'), 0o777);
  writeFileSync(join(dir, 'htdocs/private/hello.txt'), 'hello');
  writeFileSync(join(dir, 'htdigest'), `${USER}:${REALM}:${createHash('md5').update(`${USER}:${REALM}:${PASSWORD}`).digest('hex')}\n`);
  chmodSync(join(dir, 'htdigest'), 0o644);
}

describe('Digest against Apache httpd mod_auth_digest', function () {
  this.timeout(20_000);
  let apache: ApacheServer;
  let origin: string;
  let http: Http;

  before(async () => {
    apache = await startApache({
      modules: ['authz_user', 'authn_core', 'authn_file', 'auth_digest', 'reflector', 'dav', 'dav_fs'],
      directives: DIRECTIVES,
      prepare,
    });
    origin = apache.origin;
  });

  after(() => apache?.stop());

  beforeEach(() => {
    http = new Http();
  });
  afterEach(() => http.close());

  it('is refused without credentials (the server really requires Digest)', async () => {
    const [response] = await http.request(`${origin}/private/a`);
    expect(response.status).to.equal(401);
    expect(response.get('www-authenticate')).to.match(/^Digest /);
  });

  it('is refused with a wrong password after one retry', async () => {
    http.addCredentials(USER, 'wrong');
    const [response] = await http.request(`${origin}/private/a`);
    expect(response.status).to.equal(401);
  });

  it('tries a wrong credential registered first, then the right one: 200 (httplib2 tries each in turn)', async () => {
    http.addCredentials(USER, 'wrong');
    http.addCredentials(USER, PASSWORD);
    const [response, content] = await http.request(`${origin}/private/hello.txt`);
    expect(response.status).to.equal(200);
    expect(content.toString()).to.equal('hello');
    const log = await apache.accessLog((l) => l.includes('/private/hello.txt'), 3);
    expect(log).to.deep.equal(['GET /private/hello.txt 401', 'GET /private/hello.txt 401', 'GET /private/hello.txt 200']);
  });

  it('answers MD5 qop=auth, then several requests in a row on counted nonces', async () => {
    http.addCredentials(USER, PASSWORD);
    for (let i = 0; i < 5; i++) {
      const [response, content] = await http.request(`${origin}/private/echo/item${i}`, 'POST', `body ${i}`, { 'content-type': 'text/plain' });
      expect(response.status, `request ${i}`).to.equal(200);
      expect(content.toString()).to.equal(`body ${i}`);
    }
    // One challenge, then every request answered pre-emptively on the next nonce count: Apache
    // (AuthDigestNcCheck On) would refuse a repeated count with another 401.
    // The access log has one line per request (method, path, status): count the 401 round trips.
    const log = await apache.accessLog((l) => l.includes('/private/echo/'), 6);
    expect(log.filter((l) => l.endsWith(' 401'))).to.have.length(1);
    expect(log.filter((l) => l.endsWith(' 200'))).to.have.length(5);
  });

  it('sends a PUT with a body, then reads it back', async () => {
    http.addCredentials(USER, PASSWORD);
    const entry = '<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title></entry>';
    const [created] = await http.request(`${origin}/private/files/entry.xml`, 'PUT', entry, { 'content-type': 'application/atom+xml' });
    expect(created.status).to.equal(201);
    const [replaced] = await http.request(`${origin}/private/files/entry.xml`, 'PUT', `${entry}\n`);
    expect(replaced.status).to.equal(204);
    const [read, content] = await http.request(`${origin}/private/files/entry.xml`);
    expect(read.status).to.equal(200);
    expect(content.toString()).to.equal(`${entry}\n`);
    const stranger = new Http();
    try {
      const [anonymous] = await stranger.request(`${origin}/private/files/entry.xml`);
      expect(anonymous.status).to.equal(401);
    } finally {
      await stranger.close();
    }
  });
});
