import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { errorPage, PAGE_SECURITY_POLICY, signInPage, signOutPage, signedOutPage } from './sign-in-page.js';

describe('the sign-in pages under their Content-Security-Policy', () => {
  it('allows exactly the one style of each page by its hash, no inline code at large, and no framing', () => {
    expect(PAGE_SECURITY_POLICY).to.not.contain('unsafe-inline');
    expect(PAGE_SECURITY_POLICY).to.contain("frame-ancestors 'none'");
    for (const html of [
      signInPage('/auth/x'),
      signOutPage('<form id="op.logoutForm"></form>'),
      signedOutPage(),
      errorPage('e', 'd'),
    ]) {
      const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
      expect(styles).to.have.length(1);
      const hash = createHash('sha256').update(styles[0]!).digest('base64');
      expect(PAGE_SECURITY_POLICY).to.contain(`style-src 'sha256-${hash}'`);
      expect(html).to.not.match(/<script|\sstyle=|\son[a-z]+=/i);
    }
  });
});
