/**
 * HTTP-date parsing and formatting (RFC 9110 §5.6.7): the preferred IMF-fixdate and the two obsolete
 * forms (RFC 850 and asctime) that recipients must still accept. Pure: never reads the clock; the
 * two-digit-year rule takes `now` as an argument.
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const SHORT_DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = new RegExp(`^${SHORT_DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i');
// obs-date rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, 'i');
// obs-date asctime-date: Sun Nov  6 08:49:37 1994 (day is two digits or space + digit)
const ASCTIME = new RegExp(`^${SHORT_DAY} ${MONTH} ((?:\\d| )\\d) ${TIME} (\\d{4})$`, 'i');

/**
 * Parses an HTTP-date in any of its three forms into milliseconds since the epoch, or null when the
 * value is not a valid HTTP-date (callers decide what an invalid date means: RFC 9111 §5.3 reads an
 * invalid Expires as "already expired").
 *
 * @param now milliseconds since the epoch; only used to place an RFC 850 two-digit year (RFC 9110
 *   §5.6.7: a year more than 50 years in the future is the most recent past year with those digits).
 */
export function parseHttpDate(value: string | undefined | null, now = 0): number | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  let m = IMF_FIXDATE.exec(text);
  if (m) return build({ year: Number(m[3]), month: m[2]!, day: Number(m[1]) }, m.slice(4, 7));
  m = ASCTIME.exec(text);
  if (m) return build({ year: Number(m[6]), month: m[1]!, day: Number(m[2]!.trim()) }, m.slice(3, 6));
  m = RFC850.exec(text);
  if (m) {
    const nowYear = new Date(now).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + Number(m[3]);
    if (year > nowYear + 50) year -= 100;
    else if (year + 100 <= nowYear + 50) year += 100;
    return build({ year, month: m[2]!, day: Number(m[1]) }, m.slice(4, 7));
  }
  return null;
}

/** A calendar date as the three forms write it: the month by its English name. */
interface DateParts {
  readonly year: number;
  readonly month: string;
  readonly day: number;
}

// `time`: hours, minutes, seconds, as matched.
function build({ year, month: monthName, day }: DateParts, time: readonly (string | undefined)[]): number | null {
  const month = MONTHS.indexOf(monthName.toLowerCase());
  const [hour, minute, second] = time.map(Number) as [number, number, number];
  // RFC 9110 §5.6.7 allows second 60 (a leap second); Date folds it into the next minute.
  if (month < 0 || day < 1 || hour > 23 || minute > 59 || second > 60) return null;
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  // Reject 31 Feb and friends instead of letting Date roll them over.
  if (date.getUTCDate() !== day) return null;
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

/** Formats milliseconds since the epoch as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`). */
export function formatHttpDate(ms: number): string {
  // toUTCString produces exactly the IMF-fixdate layout for years 0000-9999.
  return new Date(ms).toUTCString();
}
