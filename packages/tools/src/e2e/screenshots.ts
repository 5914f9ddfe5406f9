/**
 * Saves docs/screenshots/desktop.png and phone.png: the page on the real system with orders in
 * all three states. Run with `npm run screenshots -w packages/apps` after a build.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestVhost } from '../support/scratch.js';
import { launchChromium, WebPage } from './browser.js';
import { GozonProcess } from './processes.js';
import { ServerSystem } from './system.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'docs', 'screenshots');

const system = await ServerSystem.start();
const browser = await launchChromium();
const vhost = await createTestVhost();
let deaf: GozonProcess | undefined;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const web = new WebPage(await context.newPage());
  await web.page.goto(system.gatewayUrl);
  await web.signInWithAccount('ada@example.org');
  await web.deposit('20.00', '20.00');
  for (const [amount, description] of [
    ['15.00', 'A book on distributed systems'],
    ['30.00', 'Noise-cancelling headphones'],
  ] as const) {
    await web.fillOrder(amount, description);
    await web.button('Place order').click();
    await web.settledOrders(description.startsWith('A book') ? 1 : 2);
  }
  // A payments service listening on another vhost: the next order really stays NEW.
  const real = system.parts.payments;
  await real.kill('SIGTERM');
  deaf = new GozonProcess('payments', { ...real.env, AMQP_URL: vhost.url }, real.healthUrl);
  await deaf.start();
  await web.fillOrder('2.50', 'A pencil');
  await web.button('Place order').click();
  await web.page.locator('#orders > li[data-status="NEW"]').waitFor();
  // As a person would see it arriving: at the top, no hover, no focus ring.
  await web.page.mouse.move(0, 0);
  await web.page.evaluate('document.activeElement.blur(); window.scrollTo(0, 0)');

  await mkdir(out, { recursive: true });
  await web.page.screenshot({ path: join(out, 'desktop.png') });
  await web.page.setViewportSize({ width: 360, height: 740 });
  await web.page.screenshot({ path: join(out, 'phone.png'), fullPage: true });
  const problems = web.unexpectedProblems();
  if (problems.length) throw new Error(`the page had problems:\n${problems.join('\n')}`);
  console.log(`saved ${join(out, 'desktop.png')} and ${join(out, 'phone.png')}`);
} finally {
  await deaf?.kill('SIGTERM');
  await browser.close();
  await system.stop();
  await vhost.delete();
}
