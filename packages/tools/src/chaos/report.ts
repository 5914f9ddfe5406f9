import type { CheckSummary, Ledger } from './check.js';
import { READY_WAIT_MS, type FaultEvent, type FaultKind, type MessageTally } from './faults.js';
import type { BackoffCheck, RelayHolds } from './instances.js';
import type { LostMessages } from './lost-messages.js';

export interface ChaosRun {
  readonly runId: string;
  readonly seed: number;
  readonly loadMs: number;
  readonly totalMs: number;
  readonly kinds: readonly FaultKind[];
  readonly timeline: readonly FaultEvent[];
  readonly tally: MessageTally;
  /** Messages the lost-message faults took from the queues. */
  readonly lost: LostMessages;
  /** The services' `GOZON_RECONCILE_AFTER_SECONDS`, in ms. */
  readonly reconcileAfterMs: number;
  readonly ledger: Ledger;
  readonly summary: CheckSummary;
  /** Whether the system went quiet (nothing NEW, nothing queued) before the checks. */
  readonly quiet: boolean;
  /** Instances of orders, payments and the gateway. */
  readonly instances: number;
  /** Nodes of the run's own RabbitMQ cluster (0: a vhost of the local node). */
  readonly rabbitmqNodes: number;
  /** How long the cluster took to start and join, when the run had one. */
  readonly clusterStartMs?: number | undefined;
  /** Who held each database's relay lock once quiet. */
  readonly relayHolds: RelayHolds;
  readonly backoff: BackoffCheck;
  readonly postgresUpAtEnd: boolean;
}

const published = (run: ChaosRun, service: 'orders' | 'payments'): string =>
  run.tally
    .instanceNames(service)
    .map((name) => `${name} ${n(run.tally.valueOf(name, 'gozon_messages_published_total'))}`)
    .join(', ');

const n = (value: number): string => value.toLocaleString('en-US');
const byQueue = (counts: ReadonlyMap<string, number>): string =>
  counts.size === 0 ? '0' : [...counts].map(([queue, count]) => `${queue} ${n(count)}`).join(', ');
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Per fault kind: how often, and the longest time from the fault to both services ready again. */
export const faultLines = (run: Pick<ChaosRun, 'kinds' | 'timeline'>): string[] => {
  const lines: string[] = [];
  for (const kind of [...run.kinds, 'unexpected exit' as const]) {
    const events = run.timeline.filter((e) => e.kind === kind);
    if (events.length === 0) {
      if (kind !== 'unexpected exit') lines.push(`${kind}: not injected (the run was too short)`);
      continue;
    }
    const recoveries = events.filter((e) => e.readyAt !== null).map((e) => (e.readyAt as number) - e.at);
    const stuck = events.filter((e) => e.readyAt === null && e.kind !== 'unexpected exit');
    const notReady = stuck.length;
    const names = [...new Set(stuck.flatMap((e) => e.notReady ?? []))].join(', ');
    const failed = events.filter((e) => e.failed).length;
    lines.push(
      `${kind}: ×${events.length}` +
        (recoveries.length ? `, ready again ≤ ${s(Math.max(...recoveries))} after the fault` : '') +
        (notReady ? `, ${notReady} not ready again within ${s(READY_WAIT_MS)} of being undone (${names})` : '') +
        (failed ? `, ${failed} failed to inject or undo: ${events.find((e) => e.failed)?.detail ?? ''}` : ''),
    );
  }
  return lines;
};

export const renderReport = (run: ChaosRun): string => {
  const { summary, ledger, tally } = run;
  const { orders, deposits } = summary.requests;
  const duplicates = {
    ordersInbox: tally.value('orders', 'gozon_inbox_duplicates_total'),
    paymentsInbox: tally.value('payments', 'gozon_inbox_duplicates_total'),
    repeated: tally.value('payments', 'repeated'),
    unchanged: tally.value('orders', 'unchanged'),
    retries:
      tally.value('orders', 'gozon_message_retries_total') + tally.value('payments', 'gozon_message_retries_total'),
    deadLettered:
      tally.value('orders', 'gozon_messages_dead_lettered_total') +
      tally.value('payments', 'gozon_messages_dead_lettered_total'),
  };
  const dlq = [...summary.deadLettered].map(([q, count]) => `${q} ${n(count)}`).join(', ') || 'none';
  const byRule = new Map<string, string[]>();
  for (const v of summary.violations) byRule.set(v.rule, [...(byRule.get(v.rule) ?? []), v.detail]);
  const rows: [string, string][] = [
    ['run', `${run.runId}, seed ${run.seed}: ${s(run.loadMs)} of load and faults, ${s(run.totalMs)} in all`],
    [
      'orders asked',
      `${n(orders.acknowledged + orders.rejected + orders.indeterminate)}: ${n(orders.acknowledged)} acknowledged, ` +
        `${n(orders.rejected)} refused, ${n(orders.indeterminate)} without an answer (${n(summary.requests.indeterminateOrdersApplied)} of those took effect)`,
    ],
    [
      'deposits',
      `${n(deposits.acknowledged + deposits.rejected + deposits.indeterminate)}: ${n(deposits.acknowledged)} acknowledged, ` +
        `${n(deposits.rejected)} refused, ${n(deposits.indeterminate)} without an answer`,
    ],
    [
      'system',
      `${run.instances} instance(s) each of orders, payments and the gateway (requests spread over the gateways); ` +
        (run.rabbitmqNodes > 0
          ? `a RabbitMQ cluster of ${run.rabbitmqNodes} node(s) of the run's own (started in ${s(run.clusterStartMs ?? NaN)}), quorum queues`
          : 'a vhost of the local RabbitMQ node, classic queues'),
    ],
    ['faults', `${run.timeline.length} in all`],
    ...faultLines(run).map((line): [string, string] => ['', line]),
    [
      'ledger',
      `${n(summary.orders.total)} orders: ${n(summary.orders.finished)} FINISHED, ${n(summary.orders.cancelled)} CANCELLED, ` +
        `${n(summary.orders.new)} NEW; ${n(ledger.payments.length)} payments; ${summary.users.checked} balances checked ` +
        `(${summary.users.withIndeterminateDeposits} with unanswered deposits, matched as a subset)`,
    ],
    [
      'client retries',
      `${n(summary.clientRetries.repeatedAttempts)} repeated attempts (retries, double submissions); ` +
        `${n(summary.clientRetries.answeredMoreThanOnce)} requests answered 2xx more than once`,
    ],
    [
      'deliveries',
      `duplicates observed and absorbed by the inbox: orders ${n(duplicates.ordersInbox)}, payments ${n(duplicates.paymentsInbox)}; ` +
        `absorbed by the use case: payment requests for an order already decided ${n(duplicates.repeated)}, ` +
        `outcomes for an order already final ${n(duplicates.unchanged)}; handler retries ${n(duplicates.retries)}; ` +
        `dead-lettered ${n(duplicates.deadLettered)} (counted by the services, at least)`,
    ],
    [
      'lost messages',
      `purged: ${byQueue(run.lost.purged)}; moved to the dead-letter queues: ${byQueue(run.lost.deadLettered)}; ` +
        `payment requests sent again by reconciliation (after ${run.reconcileAfterMs / 1000} s NEW): ` +
        `${n(tally.value('orders', 'gozon_reconcile_requests_total'))}, orders asked more than once ` +
        `${n(tally.value('orders', 'gozon_reconcile_orders_repeated_total'))} (counted by the service, at least)`,
    ],
    [
      'instances',
      `messages published (relay and on commit): ${published(run, 'orders')}; ${published(run, 'payments')}; ` +
        `relay hold once quiet: orders database ${run.relayHolds.orders.join(', ') || 'nobody'}, ` +
        `payments database ${run.relayHolds.payments.join(', ') || 'nobody'}; ` +
        `${n(run.backoff.ordersAskedAgain)} orders asked again (${n(run.backoff.asksAgain)} asks), ` +
        `${n(run.backoff.tooSoon.length)} sooner than the backoff allows`,
    ],
    [
      'queues',
      `${run.quiet ? 'quiet' : 'NOT quiet'}; outbox rows unpublished: orders ${ledger.outboxPending.orders}, payments ${ledger.outboxPending.payments}; ` +
        `dead-letter queues: ${dlq}`,
    ],
    [
      'result',
      summary.violations.length === 0
        ? 'PASS: no acknowledged order lost, nothing unrequested, none NEW, one payment per order, every balance = deposits − FINISHED ≥ 0'
        : `FAIL: ${summary.violations.length} violation(s)`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  for (const [rule, details] of byRule) {
    lines.push(`  ✗ ${rule}: ${details.length}`);
    for (const detail of details.slice(0, 10)) lines.push(`      ${detail}`);
    if (details.length > 10) lines.push(`      … and ${details.length - 10} more`);
  }
  return lines.join('\n');
};

const MessageTallyNames = [
  'gozon_inbox_duplicates_total',
  'gozon_message_retries_total',
  'gozon_messages_dead_lettered_total',
  'gozon_reconcile_requests_total',
  'gozon_reconcile_orders_repeated_total',
  'gozon_messages_published_total',
  'repeated',
  'unchanged',
] as const;

const faultsByKind = (run: ChaosRun): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const event of run.timeline) counts[event.kind] = (counts[event.kind] ?? 0) + 1;
  return counts;
};

export const toJson = (run: ChaosRun): unknown => ({
  runId: run.runId,
  seed: run.seed,
  loadSeconds: run.loadMs / 1000,
  totalSeconds: run.totalMs / 1000,
  quiet: run.quiet,
  instances: run.instances,
  rabbitmqNodes: run.rabbitmqNodes,
  ...(run.clusterStartMs === undefined ? {} : { clusterStartSeconds: run.clusterStartMs / 1000 }),
  faultsByKind: faultsByKind(run),
  faults: run.timeline,
  requests: run.summary.requests,
  orders: run.summary.orders,
  payments: run.ledger.payments.length,
  clientRetries: run.summary.clientRetries,
  deliveries: Object.fromEntries(
    (['orders', 'payments'] as const).map((service) => [
      service,
      Object.fromEntries(MessageTallyNames.map((name) => [name, run.tally.value(service, name)])),
    ]),
  ),
  duplicatesAbsorbed:
    run.tally.value('orders', 'gozon_inbox_duplicates_total') +
    run.tally.value('payments', 'gozon_inbox_duplicates_total') +
    run.tally.value('payments', 'repeated') +
    run.tally.value('orders', 'unchanged'),
  byInstance: Object.fromEntries(
    (['orders', 'payments'] as const).flatMap((service) =>
      run.tally
        .instanceNames(service)
        .map((name) => [name, Object.fromEntries(MessageTallyNames.map((c) => [c, run.tally.valueOf(name, c)]))]),
    ),
  ),
  relayHolds: run.relayHolds,
  backoff: run.backoff,
  postgresUpAtEnd: run.postgresUpAtEnd,
  lostMessages: {
    purged: Object.fromEntries(run.lost.purged),
    deadLettered: Object.fromEntries(run.lost.deadLettered),
  },
  reconcile: {
    afterSeconds: run.reconcileAfterMs / 1000,
    requests: run.tally.value('orders', 'gozon_reconcile_requests_total'),
    ordersRepeated: run.tally.value('orders', 'gozon_reconcile_orders_repeated_total'),
  },
  outboxPending: run.ledger.outboxPending,
  inboxRows: run.ledger.inboxRows,
  deadLetterQueues: Object.fromEntries(run.summary.deadLettered),
  violations: run.summary.violations,
  passed: run.summary.violations.length === 0,
});
