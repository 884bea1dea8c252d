/**
 * Mocha `require`: drops the two warnings the proxy specs provoke on purpose that say nothing about
 * this project. undici announces its SOCKS5 agent as experimental; and that agent, tunnelling https to
 * the 127.0.0.1 test origin, hands the IP address to tls.connect as the ServerName (undici's
 * socks5-proxy-agent.js does `servername: requestTls.servername || targetHost`), which Node flags
 * as DEP0123. Every other warning, DEP0123 from anywhere else included, still prints.
 */
type Emit = (warning: string | Error, ...rest: unknown[]) => void;

const emitWarning = process.emitWarning as Emit;

function isExpected(warning: string | Error, rest: readonly unknown[]): boolean {
  const message = typeof warning === 'string' ? warning : warning.message;
  if (message.startsWith('SOCKS5 proxy support is experimental')) return true;
  const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: unknown }).code : rest[1];
  return code === 'DEP0123' && /socks5-proxy-agent/.test(new Error().stack ?? '');
}

process.emitWarning = function emitUnlessExpected(warning: string | Error, ...rest: unknown[]): void {
  if (!isExpected(warning, rest)) emitWarning.call(process, warning, ...rest);
} as typeof process.emitWarning;
