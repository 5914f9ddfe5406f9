import getRawBody from 'raw-body';
import type { Context } from 'koa';
import { HttpError } from './http-error.js';

export const BODY_LIMIT = 64 * 1024;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a JSON request body: 415 unless it is declared JSON, 413 over 64 KiB, 400 if it does not
 * parse. Read per route, so the gateway and GET routes never buffer bodies.
 */
export const readJson = async (ctx: Context): Promise<unknown> => {
  if (!ctx.is('application/json')) {
    throw new HttpError(415, 'unsupported_media_type', 'the body must be JSON (Content-Type: application/json)');
  }
  let bytes: Buffer;
  try {
    bytes = await getRawBody(ctx.req, {
      limit: BODY_LIMIT,
      length: ctx.get('content-length') || undefined,
    });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw new HttpError(413, 'payload_too_large', 'the body must be at most 64 KiB');
    throw new HttpError(400, 'malformed_body', 'the body could not be read');
  }
  let text: string;
  try {
    // Fatal: bytes that are not UTF-8 are refused, not turned into U+FFFD and stored.
    text = UTF8.decode(bytes);
  } catch {
    throw new HttpError(400, 'malformed_json', 'the body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'malformed_json', 'the body is not valid JSON');
  }
};
