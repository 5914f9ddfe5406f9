import type pg from 'pg';

// Marks a statement's text (see `plannedPerCall`): the text itself says how it is to be planned,
// so no list of such statements has to be kept anywhere.
const PER_CALL = '\n/* planned per call */';

/**
 * Marks a statement to go unnamed, so Postgres plans it for each call's values instead of keeping
 * a generic plan. For lookups of a list of keys (`= ANY($1)`) in a table that grows: the generic
 * plan cannot see the list's length, and one chosen while the table was young (a few pages, before
 * its first ANALYZE) is a sequential scan, kept until the next ANALYZE, so each call reads the
 * whole table. Planned per call, the list's length is known, and the primary key is used.
 */
export const plannedPerCall = (text: string): string => (text.endsWith(PER_CALL) ? text : `${text}${PER_CALL}`);

/** Past this many, further statements go unnamed: a statement built per call must not fill every connection. */
const MAX_PREPARED = 200;

/**
 * The names under which one pool's connections prepare statements, by text. A statement with
 * parameters is named, so each pooled connection parses and plans it once and then only binds and
 * executes it: the adapters' statements are few and fixed, and on a busy server the parse and plan
 * of such short statements cost about as much as running them. A pool has one of these: names are
 * per connection, and two lists naming different texts alike would collide on it.
 */
export class PreparedStatements {
  private readonly names = new Map<string, string>();

  /** The query to send for `text` with `params`: named, unless it has none or is planned per call. */
  config(text: string, params: readonly unknown[] | undefined): pg.QueryConfig {
    const values = params as unknown[] | undefined;
    if (!values || values.length === 0) return { text };
    if (text.endsWith(PER_CALL)) return { text, values };
    let name = this.names.get(text);
    if (name === undefined && this.names.size < MAX_PREPARED) {
      name = `gozon_${this.names.size + 1}`;
      this.names.set(text, name);
    }
    return name === undefined ? { text, values } : { name, text, values };
  }
}
