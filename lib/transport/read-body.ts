/**
 * Reading a response body off undici's stream, as the transport does for every hop: whole, bounded
 * by `maxBodySize`, empty for answers that have no content whatever their framing headers say, and
 * feeding the caller's progress callback when there is one. Never decodes (decode.ts does).
 */
import type { Dispatcher } from 'undici';
import { HttpLib2Error } from '../errors.js';
import { hasNoContent } from './message-body.js';
import type { Response } from '../response.js';
import type { HopRequest } from '../types.js';

// undici 7 fails a 304 or 204 whose Content-Length is not 0 with this code, after handing over its
// head (and closes the connection): the answer itself is complete and valid (RFC 9110 §8.6).
const LENGTH_MISMATCH = 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH';

/**
 * Reads a whole body, failing (and closing the connection) past `limit` bytes. An answer that has
 * no content (HEAD, 1xx, 204, 304) is empty whatever its Content-Length says.
 */
export function readBody(body: Dispatcher.ResponseData['body'], limit: number, response: Response, req: HopRequest): Promise<Buffer> {
  const bodiless = hasNoContent(req.method, response.status);
  const declared = Number(response.get('content-length'));
  if (!bodiless && Number.isFinite(declared) && declared > limit && !response.has('content-encoding')) {
    // undici reports a destroyed body with an 'error' event (on a later turn when the body has
    // already arrived whole): with no listener it would be an uncaught exception.
    body.on('error', () => undefined).destroy();
    return Promise.reject(tooLarge(limit, req, response));
  }
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

/**
 * Feeds `RequestOptions.onProgress` from a listener of its own, attached only when the caller asked,
 * so a request without the callback does no extra work per chunk. A throwing callback fails the body.
 */
export function reportProgress(
  body: Dispatcher.ResponseData['body'],
  response: Response,
  onProgress: (received: number, total: number | null) => void,
): void {
  const declared = Number(response.get('content-length') ?? NaN);
  const total = Number.isSafeInteger(declared) && declared >= 0 ? declared : null;
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

function tooLarge(limit: number, req: HopRequest, response: Response): HttpLib2Error {
  return new HttpLib2Error(`Response body from ${req.url.host} is larger than maxBodySize (${limit} bytes)`, {
    code: 'ERR_BODY_TOO_LARGE',
    response,
  });
}
