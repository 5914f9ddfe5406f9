/** The browser's only credential: the id of its session at the gateway. */
export const SESSION_COOKIE = 'gozon_session';
/** Ties a sign-in in progress to the browser that started it (no login CSRF). */
export const LOGIN_COOKIE = 'gozon_login';

export interface CookieFlags {
  /** Only over https: set when the public URL is https (an http origin would never send it back). */
  readonly secure: boolean;
  readonly path: string;
  /** Seconds until the browser drops it; 0 deletes it now. */
  readonly maxAgeSeconds: number;
}

/**
 * A `Set-Cookie` value: always HttpOnly (no script reads it) and SameSite=Lax (not sent on
 * cross-site writes, still sent when the provider redirects back with a top-level GET). Written
 * here rather than with Koa's cookies, which refuse a Secure cookie on a plain-http hop behind
 * a TLS-terminating proxy.
 */
export const setCookie = (name: string, value: string, flags: CookieFlags): string => {
  const maxAge = Math.max(0, Math.floor(flags.maxAgeSeconds));
  const expires = new Date(Date.now() + maxAge * 1000).toUTCString();
  const parts = [`${name}=${value}`, `Path=${flags.path}`, `Max-Age=${maxAge}`, `Expires=${expires}`];
  parts.push('HttpOnly', 'SameSite=Lax');
  if (flags.secure) parts.push('Secure');
  return parts.join('; ');
};

/** The `Set-Cookie` value that deletes cookie `name` at `path`. */
export const clearCookie = (name: string, path: string, secure: boolean): string =>
  setCookie(name, '', { path, secure, maxAgeSeconds: 0 });

/** The value of cookie `name` in a `Cookie` header, if present and not empty. */
export const readCookie = (header: string | undefined, name: string): string | undefined => {
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at < 0 || pair.slice(0, at).trim() !== name) continue;
    const value = pair.slice(at + 1).trim();
    if (value) return value;
  }
  return undefined;
};
