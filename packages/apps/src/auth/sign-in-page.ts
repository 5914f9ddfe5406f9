import { createHash } from 'node:crypto';

/** The built-in provider's pages: plain HTML, no script, every echoed value escaped. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

const STYLE = `
body { font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem; }
.warning { border: 2px solid #b45309; background: #fef3c7; padding: .75rem; }
.error { color: #b91c1c; font-weight: 600; }
label, input, button { display: block; font-size: 1rem; margin: .5rem 0; }
input { width: 100%; padding: .4rem; box-sizing: border-box; }
`;

/**
 * Pages run no script and load nothing; their one style is allowed by its hash, not by allowing
 * inline styles; they may not be framed (no clickjacking of the sign-in).
 */
export const PAGE_SECURITY_POLICY = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; frame-ancestors 'none'`;

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · GoZon</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;

/** The development sign-in form; `error` (already worded for a person) is shown above it. */
export const signInPage = (action: string, options: { userName?: string; error?: string } = {}): string =>
  page(
    'Sign in (development only)',
    `<h1>Sign in to GoZon</h1>
<p class="warning" role="alert"><strong>For development only.</strong> This sign-in page has no
password: anyone can sign in as anyone by typing a name. Configure a real OpenID provider
(<code>OIDC_ISSUER</code>) for anything but development.</p>
${options.error ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<label for="user">User name</label>
<input id="user" name="user" value="${escapeHtml(options.userName ?? '')}" required maxlength="64"
 autocomplete="username" autofocus>
<button type="submit">Sign in</button>
</form>`,
  );

/** The confirmation oidc-provider asks for before ending a session; `form` is its own hidden form. */
export const signOutPage = (form: string): string =>
  page(
    'Sign out',
    `<h1>Sign out of GoZon?</h1>
${form}
<button form="op.logoutForm" name="logout" value="yes" type="submit">Sign out</button>
<button form="op.logoutForm" type="submit">Stay signed in</button>`,
  );

export const signedOutPage = (): string => page('Signed out', '<h1>You are signed out of GoZon.</h1>');

/** An error page naming the OAuth error code and its description, nothing internal. */
export const errorPage = (error: string, description: string | undefined): string =>
  page(
    'Sign-in error',
    `<h1>Sign-in failed</h1>
<p class="error">${escapeHtml(error)}${description ? `: ${escapeHtml(description)}` : ''}</p>`,
  );
