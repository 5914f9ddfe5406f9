import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/**
 * Headers that concern one connection only (RFC 9110 §7.6.1, and Proxy-Authorization, consumed by
 * the first proxy, §11.7.1): never passed on. Transfer-Encoding is left to Node, which frames each
 * hop's body itself; Connection is handled apart (the names it lists go too).
 */
const HOP_BY_HOP = [
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
];

/** Removes the hop-by-hop headers, the Connection header and every header it names. */
export const stripHopByHop = (headers: IncomingHttpHeaders): void => {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '' && name !== 'transfer-encoding' && name !== 'host');
  for (const name of [...HOP_BY_HOP, ...named, 'connection']) delete headers[name];
};

/** The addresses of load balancers whose `X-Forwarded-*` the gateway believes (`TRUST_PROXY`). */
export type TrustedProxies = ReadonlySet<string>;

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) as `10.0.0.1`. */
export const plainAddress = (address: string): string => address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');

const listOf = (value: string | string[] | undefined): string[] =>
  String(value ?? '')
    .split(',')
    .map((part) => plainAddress(part.trim()))
    .filter((part) => part !== '');

/**
 * The client's address: the peer, or, when the peer is a trusted proxy, the last address in
 * `X-Forwarded-For` that is not one (the first a trusted hop saw; what is left of it the client wrote).
 */
export const clientAddress = (req: IncomingMessage, trusted: TrustedProxies): string => {
  const peer = plainAddress(req.socket.remoteAddress ?? '');
  if (!trusted.has(peer)) return peer;
  const chain = listOf(req.headers['x-forwarded-for']);
  for (let i = chain.length - 1; i >= 0; i -= 1) {
    if (!trusted.has(chain[i]!)) return chain[i]!;
  }
  return chain[0] ?? peer;
};

/**
 * Sets `X-Forwarded-For/Proto/Host/Port` from what the gateway saw. A client's own values are
 * replaced (it could name any address); from a trusted proxy they are kept, the peer appended.
 */
export const forwardedHeaders = (req: IncomingMessage, trusted: TrustedProxies): void => {
  const { headers, socket } = req;
  const peer = plainAddress(socket.remoteAddress ?? '');
  const encrypted = (socket as Partial<TLSSocket>).encrypted === true;
  const host = headers.host ?? '';
  // The port the connection came in on, not the one the client wrote in Host.
  const port = String(socket.localPort ?? (encrypted ? 443 : 80));
  const seen = {
    'x-forwarded-for': peer,
    'x-forwarded-proto': encrypted ? 'https' : 'http',
    'x-forwarded-host': host,
    'x-forwarded-port': port,
  };
  const fromProxy = trusted.has(peer);
  for (const [name, value] of Object.entries(seen)) {
    const earlier = headers[name];
    if (!fromProxy || !earlier) headers[name] = value;
    else if (name === 'x-forwarded-for') headers[name] = `${String(earlier)}, ${value}`;
  }
};
