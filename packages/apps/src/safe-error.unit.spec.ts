import { expect } from 'chai';
import { Writable } from 'node:stream';
import pg from 'pg';
import { PgliteDatabase } from '@gozon/adapters/pglite';
import { createLogger } from './logger.js';

/** A logger writing into a string, and the lines written so far. */
const capture = () => {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { log: createLogger('test', false, sink), text: () => text };
};

const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );

// Recognisable values, as a user id, an amount and a description would be.
const SECRET_USER = 'leaky-user-4242';
const SECRET_TEXT = 'secret description 9876';

describe('error logs carry the error and the statement, never the values', function () {
  this.timeout(30_000);
  let db: PgliteDatabase;

  before(async () => {
    db = await PgliteDatabase.open('memory://');
    await db.exec(`CREATE TABLE t (user_id text PRIMARY KEY, amount bigint CHECK (amount > 0), note jsonb)`);
    await db.query('INSERT INTO t (user_id, amount) VALUES ($1, $2)', [SECRET_USER, 5]);
  });

  after(async () => {
    await db.close();
  });

  const logged = (err: unknown): { line: Record<string, unknown>; text: string } => {
    const { log, text } = capture();
    log.error({ err }, 'request failed');
    return { line: JSON.parse(text()) as Record<string, unknown>, text: text() };
  };

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
    it(`logs ${what} (PGlite, the real engine) by code and statement, without its values`, async () => {
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

  it("logs node-postgres's error by code and constraint, without detail, where or quoted values", () => {
    const err = Object.assign(
      new pg.DatabaseError(`invalid input syntax for type uuid: "${SECRET_USER}"`, 0, 'error'),
      {
        code: '22P02',
        severity: 'ERROR',
        detail: `Key (user_id)=(${SECRET_USER}) already exists.`,
        where: `JSON data, line 1: {"description":"${SECRET_TEXT}`,
        internalQuery: `SELECT '${SECRET_TEXT}'`,
        constraint: 'accounts_pkey',
        statement: 'SELECT id FROM orders WHERE id = $1',
      },
    );
    const { line, text } = logged(err);
    expect(line['err']).to.deep.include({
      type: 'DatabaseError',
      code: '22P02',
      message: 'invalid input syntax for type uuid: "…"',
      constraint: 'accounts_pkey',
      statement: 'SELECT id FROM orders WHERE id = $1',
    });
    expect(text).not.to.include(SECRET_USER).and.not.to.include(SECRET_TEXT);
  });

  it('keeps the quoted names of constraints and encodings, which are no values', () => {
    const err = Object.assign(
      new pg.DatabaseError('duplicate key value violates unique constraint "t_pkey"', 0, 'error'),
      {
        code: '23505',
        severity: 'ERROR',
        constraint: 't_pkey',
      },
    );
    expect((logged(err).line['err'] as Record<string, unknown>)['message']).to.equal(
      'duplicate key value violates unique constraint "t_pkey"',
    );
  });

  it('drops what any other error carries of parameters and bodies, and keeps its message and stack', () => {
    const err = Object.assign(new Error('upstream failed'), { params: [SECRET_USER], body: SECRET_TEXT });
    const { line, text } = logged(err);
    expect(line['err']).to.include({ type: 'Error', message: 'upstream failed' });
    expect((line['err'] as Record<string, unknown>)['stack']).to.be.a('string');
    expect(text).not.to.include(SECRET_USER).and.not.to.include(SECRET_TEXT);
  });
});
