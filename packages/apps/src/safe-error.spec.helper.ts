import { expect } from 'chai';
import { Writable } from 'node:stream';
import type { SqlDatabase } from '@gozon/adapters/postgres';
import { createLogger } from './logger.js';

/** A logger writing into a string, and the lines written so far. */
export const capture = () => {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { log: createLogger('test', false, sink), text: () => text };
};

/** The one line `err` is logged as, parsed, and its text. */
export const logged = (err: unknown): { line: Record<string, unknown>; text: string } => {
  const { log, text } = capture();
  log.error({ err }, 'request failed');
  return { line: JSON.parse(text()) as Record<string, unknown>, text: text() };
};

const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );

// Recognisable values, as a user id, an amount and a description would be.
export const SECRET_USER = 'leaky-user-4242';
export const SECRET_TEXT = 'secret description 9876';

/**
 * Statements the engine refuses, with recognisable values: the logged error has its SQLSTATE and
 * the statement, and none of the values (node-postgres and PGlite put them in `detail`, `where`,
 * the message, or, PGlite, the parameters themselves).
 */
export const describeLoggedDatabaseErrors = (name: string, open: () => Promise<SqlDatabase>): void => {
  describe(`logged database errors: ${name}`, function () {
    this.timeout(30_000);
    let db: SqlDatabase;

    before(async () => {
      db = await open();
      await db.exec(`CREATE TABLE t (user_id text PRIMARY KEY, amount bigint CHECK (amount > 0), note jsonb)`);
      await db.query('INSERT INTO t (user_id, amount) VALUES ($1, $2)', [SECRET_USER, 5]);
    });

    after(async () => {
      await db.close();
    });

    for (const [what, sql, params, code] of [
      ['a unique violation', 'INSERT INTO t (user_id, amount) VALUES ($1, $2)', [SECRET_USER, 7], '23505'],
      ['a check violation', 'INSERT INTO t (user_id, amount) VALUES ($1, $2)', [SECRET_TEXT, -31337], '23514'],
      ['a value of the wrong type', 'INSERT INTO t (user_id, amount) VALUES ($1, $2)', ['u', SECRET_TEXT], '22P02'],
      [
        'JSON the database refuses',
        'INSERT INTO t (user_id, amount, note) VALUES ($1, 1, $2)',
        ['v', `{"d":"${SECRET_TEXT}\\u0000"}`],
        '22P05',
      ],
    ] as const) {
      it(`logs ${what} by code and statement, without its values`, async () => {
        const err = await rejectionOf(db.query(sql, [...params]));
        const { line, text } = logged(err);
        const shown = line['err'] as Record<string, unknown>;
        expect(shown['code']).to.equal(code);
        expect(shown['statement']).to.match(/^INSERT INTO t \(user_id, amount/);
        expect(shown['message']).to.be.a('string').and.not.equal('');
        for (const value of [SECRET_USER, SECRET_TEXT, '31337']) expect(text).not.to.include(value);
        expect(text).not.to.match(/"(params|detail|where|query)"/);
      });
    }
  });
};
