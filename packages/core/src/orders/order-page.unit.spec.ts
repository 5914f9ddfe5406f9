import { expect } from 'chai';
import { DomainError } from '../shared/errors.js';
import { OrderId } from '../shared/ids.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, OrderPosition, pageLimit, positionOf } from './order-page.js';

const ID = '0b7f3c9e-5a1d-4c2b-9f3e-2d6a8b1c4e70';

const refusal = (work: () => unknown, field: string) =>
  expect(work).to.throw(DomainError).with.property('field', field);

describe('order pages', () => {
  it('takes a limit from 1 to the maximum, as a number or decimal digits; absent is the default', () => {
    expect(pageLimit(undefined)).to.equal(DEFAULT_PAGE_SIZE);
    expect(pageLimit('1')).to.equal(1);
    expect(pageLimit(String(MAX_PAGE_SIZE))).to.equal(MAX_PAGE_SIZE);
    expect(pageLimit(7)).to.equal(7);
    for (const bad of ['0', '-1', '1.5', '201', '1e2', '', ' 5', 'abc', 0, 201, 2.5, null, ['5']]) {
      refusal(() => pageLimit(bad), 'limit');
    }
  });

  it('keeps the microseconds of a position and refuses one that is not an instant and an order id', () => {
    const position = { createdAt: '2026-01-01T12:00:00.123456Z', id: ID };
    expect(OrderPosition(position)).to.deep.equal(position);
    expect(OrderPosition({ ...position, id: ID.toUpperCase() }).id).to.equal(ID);
    const bad = [
      null,
      'x',
      { createdAt: '2026-01-01T12:00:00.123Z', id: ID },
      { createdAt: '2026-13-01T12:00:00.123456Z', id: ID },
      { createdAt: '2026-02-30T12:00:00.000000Z', id: ID },
      { createdAt: "2026-01-01T12:00:00.000000Z'; --", id: ID },
      { createdAt: '2026-01-01T12:00:00.000000Z', id: 'not-a-uuid' },
      { createdAt: 5, id: ID },
      { id: ID },
    ];
    for (const value of bad) refusal(() => OrderPosition(value), 'cursor');
  });

  it('places an order by its creation millisecond, padded to microseconds, and its id', () => {
    const createdAt = new Date('2026-01-01T12:00:00.120Z');
    expect(positionOf({ createdAt, id: OrderId(ID) })).to.deep.equal({
      createdAt: '2026-01-01T12:00:00.120000Z',
      id: ID,
    });
  });
});
