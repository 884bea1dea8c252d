/** What a promise rejected with (typed as the caller expects); fails the spec if it resolved. */
export async function rejection<T = unknown>(p: Promise<unknown>): Promise<T> {
  try {
    await p;
  } catch (e) {
    return e as T;
  }
  throw new Error('expected a rejection');
}
