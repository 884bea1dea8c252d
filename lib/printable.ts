/**
 * Text from a server (a reason phrase, a header, a URL, an error message quoting them) made safe to
 * write to a terminal: control characters are shown escaped, as `\x1b`, the way `cat -v` makes them
 * visible, so an answer can never move the cursor, retitle the window or clear the screen. Pure.
 */

// C0 controls but tab, DEL, and the C1 controls (a header's obs-text byte 0x9b reads as U+009B, a
// CSI for terminals that honour 8-bit controls).
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/** `text` with every control character but tab written as `\xHH`. */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
