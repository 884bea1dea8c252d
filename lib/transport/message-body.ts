/**
 * Whether a response has content at all, from the request method and the status alone (RFC 9110
 * §6.4.1, RFC 9112 §6.3): what its framing headers say never gives these a body. Pure.
 */

/**
 * True for an answer to HEAD and for 1xx, 204 and 304: such a message ends with its header section.
 * A Content-Length there describes the representation (RFC 9110 §8.6: the size a GET would get, or
 * the stored one a 304 validates), never bytes to read.
 */
export function hasNoContent(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}
