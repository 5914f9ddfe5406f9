import { connect } from 'node:net';

/** One HTTP/1.1 request, byte for byte as given: no header is checked, trimmed or added. */
export interface RawRequest {
  readonly method: string;
  /** The request target as sent (path and query, already encoded or not). */
  readonly target: string;
  /** Header lines in order; values go out as latin1 bytes, whatever they hold. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: Buffer | undefined;
}

export interface RawResponse {
  readonly status: number;
  /** Header names lower case; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const decodeChunked = (data: Buffer): Buffer => {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) throw new Error('chunked body cut short');
    const size = parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size');
    if (size === 0) return Buffer.concat(parts);
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
};

/** Parses a whole response read until the server closed the connection. */
export const parseResponse = (data: Buffer): RawResponse => {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0)
    throw new Error(
      `no complete response head (${data.length} bytes: ${JSON.stringify(data.toString('latin1').slice(0, 200))})`,
    );
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!status) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = data.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = decodeChunked(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status, headers, body: body.toString('utf-8') };
};

/** The bytes of `request` on the wire, with `Connection: close` so the answer ends with the connection. */
export const encodeRequest = (request: RawRequest, host: string): Buffer => {
  const lines = [`${request.method} ${request.target} HTTP/1.1`, `Host: ${host}`, 'Connection: close'];
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  const body = request.body ?? Buffer.alloc(0);
  if (body.length > 0 || request.method === 'POST') lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
};

/** Sends `request` on a connection of its own and reads the answer until the server closes it. */
export const rawRequest = (base: string, request: RawRequest, timeoutMs = 15_000): Promise<RawResponse> => {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    let failure: Error | undefined;
    // A server may answer (413, say) and close before it read the whole body: the answer counts.
    socket.on('error', (err) => (failure = err));
    socket.on('close', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(failure ?? (err instanceof Error ? err : new Error(String(err))));
      }
    });
    socket.write(encodeRequest(request, url.host));
  });
};
