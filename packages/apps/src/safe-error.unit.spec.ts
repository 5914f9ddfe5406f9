import { expect } from 'chai';
import pg from 'pg';
import { PgliteDatabase } from '@gozon/adapters/pglite';
import { describeLoggedDatabaseErrors, logged, SECRET_TEXT, SECRET_USER } from './safe-error.spec.helper.js';

// PGlite is the real engine, in this process: its errors are Postgres's own.
describeLoggedDatabaseErrors('PGlite', () => PgliteDatabase.open('memory://'));

describe('error logs carry the error and the statement, never the values', () => {
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
