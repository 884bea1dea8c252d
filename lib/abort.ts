/**
 * Racing a promise against an AbortSignal, for the places where undici (or a shared in-flight
 * request) cannot be told about a deadline itself. It never cancels the work it races; the caller
 * stops waiting for it, and a later rejection of that work is never left unhandled.
 */

/** Settles with `pending`, or rejects with the signal's reason as soon as `signal` aborts. */
export function untilAborted<T>(pending: Promise<T>, signal: AbortSignal | null): Promise<T> {
  if (signal === null) return pending;
  if (signal.aborted) {
    pending.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
