import { expect } from 'chai';
import { userOf } from './identity.js';
import { nodeOrder } from './nodes.js';
import { nodesOf, redactUrl, scrubError } from './redact.js';

describe('rabbitmq nodes: a list of cluster nodes in one AMQP URL', () => {
  it('reads the nodes of a comma-separated list, in order, blanks dropped', () => {
    expect(nodesOf(' amqp://a , amqps://b,,amqp://c ')).to.deep.equal(['amqp://a', 'amqps://b', 'amqp://c']);
    expect(nodesOf('amqp://a')).to.deep.equal(['amqp://a']);
  });

  it('tries the nodes as listed at first, and after a drop every other node before the lost one', () => {
    expect(nodeOrder(3)).to.deep.equal([0, 1, 2]);
    expect(nodeOrder(3, 0)).to.deep.equal([1, 2, 0]);
    expect(nodeOrder(3, 1)).to.deep.equal([0, 2, 1]);
    expect(nodeOrder(3, 2)).to.deep.equal([0, 1, 2]);
    expect(nodeOrder(1, 0)).to.deep.equal([0]);
    expect(nodeOrder(2, 5)).to.deep.equal([0, 1]);
  });

  it("masks every node's password, each with its own credentials", () => {
    expect(redactUrl('amqp://u:pw1@h1:5672/v, amqp://u:pw2@h2/v')).to.equal('amqp://u:***@h1:5672/v,amqp://u:***@h2/v');
    expect(scrubError(new Error('h1 said pw1, h2 said p%w2'), 'amqp://u:pw1@h1,amqp://u:p%25w2@h2')).to.equal(
      'h1 said ***, h2 said ***',
    );
  });

  it('reads the one user of a list, and refuses a list whose nodes name different users', () => {
    expect(userOf('amqp://orders:a@h1,amqp://orders:b@h2')).to.equal('orders');
    expect(userOf('amqp://h1, amqp://h2')).to.equal('guest');
    expect(() => userOf('amqp://orders:a@h1,amqp://payments:b@h2')).to.throw(/different users \(orders, payments\)/);
  });
});
