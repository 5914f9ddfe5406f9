import { expect } from 'chai';
import { plannedPerCall, PreparedStatements } from './prepared-statements.js';

describe('postgres prepared statements', () => {
  it('names a statement with parameters once per database, and each database keeps its own names', () => {
    const one = new PreparedStatements();
    const other = new PreparedStatements();
    const first = one.config('SELECT $1::int', [1]);
    expect(first.name).to.be.a('string');
    expect(one.config('SELECT $1::int', [2]).name).to.equal(first.name);
    expect(one.config('SELECT $1::text', ['a']).name).to.not.equal(first.name);
    expect(other.config('SELECT $1::text', ['a']).name).to.equal(first.name);
  });

  it('leaves unnamed a statement without parameters, and one planned per call', () => {
    const prepared = new PreparedStatements();
    expect(prepared.config('SELECT 1', undefined).name).to.equal(undefined);
    const perCall = plannedPerCall('SELECT * FROM orders WHERE id = ANY($1::uuid[])');
    expect(plannedPerCall(perCall)).to.equal(perCall);
    expect(prepared.config(perCall, [[]])).to.deep.equal({ text: perCall, values: [[]] });
  });

  it('stops naming past 200 statements, so texts built per call cannot fill a connection', () => {
    const prepared = new PreparedStatements();
    for (let i = 0; i < 200; i += 1) expect(prepared.config(`SELECT $1::int + ${i}`, [i]).name).to.be.a('string');
    expect(prepared.config('SELECT $1::int + 200', [0]).name).to.equal(undefined);
  });
});
