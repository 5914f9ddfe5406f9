// Core's folders depend one way, so no cycle can form between them: shared on nothing of the
// others; messaging on shared; accounts on those two; payments on accounts too; orders on
// messaging and shared alone. No module cycle either. Run by `npm run lint:deps` (in `lint`).
/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: "A cycle between core's modules (and so between its folders) hides which one builds on which.",
      from: { path: '^packages/core/src' },
      to: { circular: true },
    },
    {
      name: 'shared-imports-no-feature',
      severity: 'error',
      comment: 'shared/ is what every folder builds on; it must not reach back into one.',
      from: { path: '^packages/core/src/shared/' },
      to: { path: '^packages/core/src/(?!shared/)' },
    },
    {
      name: 'messaging-imports-no-feature',
      severity: 'error',
      comment: 'Messages are the vocabulary features speak; they know no feature.',
      from: { path: '^packages/core/src/messaging/' },
      to: { path: '^packages/core/src/(orders|accounts|payments)/' },
    },
    {
      name: 'accounts-imports-no-payments',
      severity: 'error',
      comment: 'Payments debit accounts; accounts know nothing of payments.',
      from: { path: '^packages/core/src/accounts/' },
      to: { path: '^packages/core/src/payments/' },
    },
    {
      name: 'orders-apart-from-payments',
      severity: 'error',
      comment: 'The orders and payments services talk only through messages.',
      from: { path: '^packages/core/src/orders/' },
      to: { path: '^packages/core/src/(accounts|payments)/' },
    },
    {
      name: 'payments-apart-from-orders',
      severity: 'error',
      comment: 'The orders and payments services talk only through messages.',
      from: { path: '^packages/core/src/(accounts|payments)/' },
      to: { path: '^packages/core/src/orders/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
  },
};
