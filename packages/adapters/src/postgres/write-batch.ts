import { isUniqueViolation, sqlState, type SqlClient } from './sql.js';

/** SQLSTATE of `gozon_expect_rows` (migration 014) when a write changed the wrong number of rows. */
const EXPECTATION_FAILED = 'P0002';

/**
 * A kind of row a transaction writes, for any number of rows in one statement: the rows travel as
 * one JSON array parameter, unpacked by `json_to_recordset`, so the statement's text (and its
 * prepared plan) is the same for one row or a hundred.
 */
export interface RowWrite {
  /** The table written; a unique violation on it is reported through `onUniqueViolation`. */
  readonly table: string;
  /** The statement for the rows in the JSON parameter `param`: an INSERT or UPDATE, no WITH or RETURNING. */
  readonly sql: (param: string) => string;
  /**
   * Set when each row must change exactly one row (an update of a row that must exist): the error's
   * text. The statement checks it itself (`gozon_expect_rows`, migration 014) and fails as a whole.
   */
  readonly mustMatch?: string;
  /** The port's error for a unique violation on `table` (e.g. a conflict). */
  readonly onUniqueViolation?: (detail: string) => Error;
}

interface Statement {
  readonly text: string;
  readonly params: unknown[];
  readonly parts: readonly { readonly kind: RowWrite; readonly rows: number }[];
}

/**
 * The rows a transaction has written but not yet sent, folded into one statement (a data-modifying
 * WITH per kind of row). A row written twice (the same key) is written once, as last given. Only
 * `BatchedTransaction` uses it: it decides when the statement goes out.
 */
export class WriteBatch {
  private readonly kinds = new Map<RowWrite, Map<string, object>>();
  private channel: string | null = null;

  /**
   * Holds `row` (a JSON object whose keys name the columns) for the next flush. A second row with
   * the same key replaces the first (the last write of a row wins) unless the kind is an insert
   * with a unique key (`onUniqueViolation`): that is refused at once, as the database would.
   */
  add(kind: RowWrite, key: string, row: object): void {
    let rows = this.kinds.get(kind);
    if (!rows) this.kinds.set(kind, (rows = new Map()));
    if (rows.has(key) && kind.onUniqueViolation) throw kind.onUniqueViolation(`${key} twice in one transaction`);
    rows.delete(key);
    rows.set(key, row);
  }

  /** Sends a NOTIFY on `channel` with the next flush (delivered at commit). */
  announce(channel: string): void {
    this.channel = channel;
  }

  /**
   * Sends what is held as one statement on `client` (nothing if nothing is). What is held is taken
   * before the first await, so writes added meanwhile wait for the next flush.
   */
  async flush(client: SqlClient): Promise<void> {
    const statement = this.take();
    if (!statement) return;
    try {
      await client.query(statement.text, statement.params);
    } catch (err) {
      throw translate(err, statement);
    }
  }

  private take(): Statement | null {
    if (this.kinds.size === 0) return null;
    // In a fixed order, so a given mix of kinds always makes the same text (and prepared plan).
    const kinds = [...this.kinds].sort(([a], [b]) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
    const channel = this.channel;
    this.kinds.clear();
    this.channel = null;
    const params: unknown[] = [];
    const parts = kinds.map(([kind, rows]) => {
      params.push(JSON.stringify([...rows.values()]));
      return { kind, rows: rows.size };
    });
    const ctes = parts.map(({ kind }, i) => `w${i} AS (${kind.sql(`$${i + 1}::json`)} RETURNING 1)`);
    // A kind whose rows must each change one row is checked inside the statement, so that the
    // statement alone is all or nothing and needs no transaction, and a COMMIT sent right behind it
    // commits only if the check passed.
    const selected = parts.map(({ kind, rows }, i) => {
      if (kind.mustMatch === undefined) return `(SELECT count(*) FROM w${i}) AS w${i}`;
      params.push(rows, kind.mustMatch);
      return `gozon_expect_rows((SELECT count(*) FROM w${i}), $${params.length - 1}, $${params.length}) AS w${i}`;
    });
    if (channel !== null) {
      params.push(channel);
      selected.push(`pg_notify($${params.length}, '') AS notified`);
    }
    return { text: `WITH ${ctes.join(', ')} SELECT ${selected.join(', ')}`, params, parts };
  }
}

/** A failed row-count check becomes its kind's error; a unique violation on a table whose kind has an error of its own becomes that error. */
const translate = (err: unknown, statement: Statement): unknown => {
  if (sqlState(err) === EXPECTATION_FAILED) {
    // The kind's `mustMatch` text, raised by the statement's own check.
    return new Error((err as Error).message);
  }
  if (!isUniqueViolation(err)) return err;
  const { table, detail } = err as { table?: unknown; detail?: unknown };
  const kind = statement.parts.find((part) => part.kind.table === table)?.kind;
  return kind?.onUniqueViolation ? kind.onUniqueViolation(typeof detail === 'string' ? detail : '') : err;
};
