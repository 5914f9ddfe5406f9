import helmet from 'helmet';
import type { Middleware } from 'koa';

/**
 * The page's Content-Security-Policy: its scripts, styles and calls come from its own origin only
 * (no inline code, so an injected `<script>` or `onclick` does not run); it may not be framed
 * (clickjacking); forms post only to this origin (the sign-in's redirects stay on it too).
 */
const directives = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

const headers = helmet({
  // Only what is listed: helmet's defaults add `upgrade-insecure-requests`, which breaks plain-http development.
  contentSecurityPolicy: { useDefaults: false, directives },
  xFrameOptions: { action: 'deny' },
  // The page's own origin may see where a request came from (sessions check it); others learn nothing.
  referrerPolicy: { policy: 'same-origin' },
  // Whether the public address is https is the load balancer's to say: it sets HSTS if so.
  strictTransportSecurity: false,
});

/**
 * Security headers on every answer (helmet): the CSP above, `X-Content-Type-Options: nosniff`,
 * `X-Frame-Options: DENY`, `Referrer-Policy`, the cross-origin policies. A handler may set a
 * stricter CSP of its own (the sign-in pages do).
 */
export const securityHeaders = (): Middleware => async (ctx, next) => {
  await new Promise<void>((resolve, reject) =>
    headers(ctx.req, ctx.res, (err?: unknown) => (err ? reject(err) : resolve())),
  );
  await next();
};
