// What several instances must show from outside (issue 20, item 4): one relay per database holds
// the outbox, every instance publishes its own commits, and two instances' reconcile sweeps never
// ask one order twice at once.
import { readFile, readdir, readlink } from 'node:fs/promises';
import { askAgainDelay } from '@gozon/core';
import type { ServerSystem } from '../e2e/system.js';
import { withClient } from './check.js';

/** The advisory lock a relay takes to hold its outbox (`outbox-leadership.ts`). */
const RELAY_LOCK = `hashtext('gozon outbox relay')`;

/** Who holds each database's relay hold: the sessions holding the lock, and the instances they belong to. */
export interface RelayHolds {
  readonly orders: readonly string[];
  readonly payments: readonly string[];
}

/**
 * Local TCP ports of the sockets `pid` has open to `remotePort` (from /proc), to tell which process
 * a session is. The remote port matters: the kernel gives one local port to several sockets when
 * they go to different places, so a gateway's socket to a service may share a port with a
 * service's socket to Postgres.
 */
const localPortsOf = async (
  pid: number,
  socketsByInode: ReadonlyMap<string, { local: number; remote: number }>,
  remotePort: number,
): Promise<Set<number>> => {
  const ports = new Set<number>();
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    const socket = inode ? socketsByInode.get(inode) : undefined;
    if (socket && socket.remote === remotePort) ports.add(socket.local);
  }
  return ports;
};

/** Every TCP socket's local and remote port, by inode (`/proc/net/tcp` and `tcp6`). */
const tcpSocketsByInode = async (): Promise<Map<string, { local: number; remote: number }>> => {
  const sockets = new Map<string, { local: number; remote: number }>();
  const portOf = (address: string): number => parseInt(address.split(':')[1] ?? '0', 16);
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, remote, inode] = [fields[1], fields[2], fields[9]];
      if (local && remote && inode) sockets.set(inode, { local: portOf(local), remote: portOf(remote) });
    }
  }
  return sockets;
};

/**
 * The sessions that hold each database's relay lock now, named by the instance whose connection
 * each is (`?` if none of the system's processes has it open): exactly one per database is right.
 */
export const relayHolds = async (system: ServerSystem): Promise<RelayHolds> => {
  const socketsByInode = await tcpSocketsByInode();
  const postgresPort = Number(new URL(system.databases.orders.url).port || 5432);
  const owners = new Map<number, string>();
  for (const [name, part] of system.processes()) {
    if (part.pid === undefined) continue;
    for (const port of await localPortsOf(part.pid, socketsByInode, postgresPort)) owners.set(port, name);
  }
  const holders = (url: string) =>
    withClient(url, async (client) => {
      const { rows } = await client.query<{ port: number | null }>(
        `SELECT a.client_port AS port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = ${RELAY_LOCK}::bigint`,
      );
      return rows.map((row) => (row.port !== null && owners.get(row.port)) || '?');
    });
  const { orders, payments } = system.databases;
  return { orders: await holders(orders.url), payments: await holders(payments.url) };
};

/** Orders asked for their payment more than once, and those asked again before their backoff allowed. */
export interface BackoffCheck {
  readonly ordersAskedAgain: number;
  readonly asksAgain: number;
  /** `order id: ask n came x s after ask n−1, the backoff allows no sooner than y s`. */
  readonly tooSoon: readonly string[];
}

/**
 * Reads every payment request of the orders outbox (placing an order asks once, each re-request
 * once more) and checks that ask n+1 came no sooner than the backoff's wait after ask n. Two
 * instances' sweeps asking the same order at once would show as two asks a moment apart.
 */
export const checkBackoff = async (ordersUrl: string, afterMs: number): Promise<BackoffCheck> =>
  withClient(ordersUrl, async (client) => {
    const { rows } = await client.query<{ order_id: string; at: number[] }>(
      `SELECT correlation_id AS order_id,
              array_agg(extract(epoch FROM occurred_at)::float8 * 1000 ORDER BY occurred_at) AS at
         FROM outbox WHERE type = 'payment.requested' GROUP BY correlation_id HAVING count(*) > 1`,
    );
    const tooSoon: string[] = [];
    let asksAgain = 0;
    for (const { order_id: id, at } of rows) {
      asksAgain += at.length - 1;
      for (let n = 1; n < at.length; n += 1) {
        const gap = (at[n] as number) - (at[n - 1] as number);
        const wait = askAgainDelay({ afterMs, maxDelayMs: 600_000 }, n);
        // A millisecond of slack: timestamps are stored in microseconds, compared here as float ms.
        if (gap < wait - 1) {
          tooSoon.push(
            `${id}: ask ${n + 1} came ${(gap / 1000).toFixed(3)} s after ask ${n}; the backoff allows no sooner than ${wait / 1000} s`,
          );
        }
      }
    }
    return { ordersAskedAgain: rows.length, asksAgain, tooSoon };
  });
