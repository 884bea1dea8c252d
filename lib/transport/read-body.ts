/**
 * Reading a response body off undici's stream, as the transport does for every hop: whole, bounded
 * by `maxBodySize`, empty for answers that have no content whatever their framing headers say, and
 * feeding the caller's progress callback when there is one. Never decodes (decode.ts does). Each byte
 * is copied at most once on its way to the returned Buffer, and no chunk is held once it is copied.
 */
import type { Dispatcher } from 'undici';
import { ConnectionError, HttpLib2Error } from '../errors.js';
import { hasNoContent } from './message-body.js';
import type { Response } from '../response.js';
import type { HopRequest } from '../types.js';

type Body = Dispatcher.ResponseData['body'];

// undici 7 fails a 304 or 204 whose Content-Length is not 0 with this code, after handing over its
// head (and closes the connection): the answer itself is complete and valid (RFC 9110 §8.6).
const LENGTH_MISMATCH = 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH';

/**
 * A body whose Content-Length is at most this is read into one buffer of exactly that size; a
 * larger one is collected chunk by chunk, so a server's word alone never reserves more memory.
 */
const PREALLOCATE_LIMIT = 64 * 1024 * 1024;

/**
 * Reads a whole body, failing (and closing the connection) past `limit` bytes. An answer that has
 * no content (HEAD, 1xx, 204, 304) is empty whatever its Content-Length says.
 */
export function readBody(body: Body, limit: number, response: Response, req: HopRequest): Promise<Buffer> {
  const bodiless = hasNoContent(req.method, response.status);
  const declared = bodiless ? null : contentLength(response);
  if (declared !== null && declared > limit && !response.has('content-encoding')) {
    // undici reports a destroyed body with an 'error' event (on a later turn when the body has
    // already arrived whole): with no listener it would be an uncaught exception.
    body.on('error', () => undefined).destroy();
    return Promise.reject(tooLarge(limit, req, response));
  }
  // A declared length within maxBodySize bounds the body by itself (RFC 9112 §6.3: the body is exactly
  // that many bytes; readDeclared refuses one more), so no chunk is checked against the limit.
  if (declared !== null && declared <= limit && declared <= PREALLOCATE_LIMIT) return readDeclared(body, declared, req);
  return readChunks(body, limit, response, req, bodiless);
}

/**
 * A body of `declared` bytes: kept as is when it comes in one chunk (no copy), else copied into one
 * buffer allocated at its first chunk, as each chunk arrives, so the transport's chunks are free as
 * soon as they are read and a download holds about its own size. A body that ends short of or past
 * its length is refused, so the caller never sees bytes the server did not send.
 */
function readDeclared(body: Body, declared: number, req: HopRequest): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let content: Buffer | null = null;
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      const end = size + chunk.length;
      if (end > declared) {
        body.destroy();
        reject(lengthMismatch(req, declared, `more than`));
        return;
      }
      // allocUnsafeSlow: never a slice of Node's shared pool, so the body shares no memory with
      // anything else; every byte of it is written before it is handed out.
      if (content === null) content = chunk.length === declared ? chunk : Buffer.allocUnsafeSlow(declared);
      if (content !== chunk) content.set(chunk, size);
      size = end;
    });
    body.on('end', () => {
      if (size === declared) resolve(content ?? Buffer.alloc(0));
      else reject(lengthMismatch(req, declared, `only ${size} of`));
    });
    body.on('error', reject);
  });
}

/** A body of unknown length (chunked, or until the connection closes), or one without content. */
function readChunks(body: Body, limit: number, response: Response, req: HopRequest, bodiless: boolean): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        body.destroy();
        reject(tooLarge(limit, req, response));
        return;
      }
      chunks.push(chunk);
    });
    body.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    body.on('error', (error: Error) => {
      if (bodiless && size === 0 && (error as { code?: unknown }).code === LENGTH_MISMATCH) resolve(Buffer.alloc(0));
      else reject(error);
    });
  });
}

/** The Content-Length as a byte count (RFC 9110 §8.6: 1*DIGIT), or null when absent or not one number. */
function contentLength(response: Response): number | null {
  const value = response.get('content-length');
  if (value === undefined || !/^\d+$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Feeds `RequestOptions.onProgress` from a listener of its own, attached only when the caller asked,
 * so a request without the callback does no extra work per chunk. A throwing callback fails the body.
 */
export function reportProgress(body: Body, response: Response, onProgress: (received: number, total: number | null) => void): void {
  const total = contentLength(response);
  let received = 0;
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    try {
      onProgress(received, total);
    } catch (error) {
      body.destroy(error as Error);
    }
  });
}

function lengthMismatch(req: HopRequest, declared: number, sent: string): ConnectionError {
  return new ConnectionError(`${req.url.host} sent ${sent} the ${declared} bytes its Content-Length announced`);
}

function tooLarge(limit: number, req: HopRequest, response: Response): HttpLib2Error {
  return new HttpLib2Error(`Response body from ${req.url.host} is larger than maxBodySize (${limit} bytes)`, {
    code: 'ERR_BODY_TOO_LARGE',
    response,
  });
}
