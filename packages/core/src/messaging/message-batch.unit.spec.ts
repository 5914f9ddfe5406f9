import { expect } from 'chai';
import { DomainError } from '../shared/errors.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import type { MessageEnvelope } from './envelope.js';
import type { Inbox } from './inbox.js';
import { MessageBatch, type MessageSteps } from './message-batch.js';

interface Tx {
  readonly inbox: Inbox;
}

interface Request {
  readonly key: string;
}

/** A transaction that only counts itself, over an inbox that remembers ids across runs. */
const aStore = () => {
  const seen = new Set<string>();
  const tx: Tx = {
    inbox: {
      record: async (_consumer, id) => !seen.has(id) && Boolean(seen.add(id)),
    },
  };
  const runs: string[] = [];
  const uow: UnitOfWork<Tx> = {
    run: async (work) => {
      runs.push('run');
      return work(tx);
    },
  };
  return { uow, runs };
};

const message = (id: string, key: string, type = 'test.asked'): MessageEnvelope => ({
  id,
  type,
  correlationId: key,
  occurredAt: '2026-01-01T00:00:00.000Z',
  payload: { key },
  headers: {},
});

/** Steps that record what they were asked, in the order asked. */
const recordingSteps = () => {
  const loads: string[][] = [];
  const decided: string[] = [];
  const steps: MessageSteps<Tx, Request, number, string> = {
    consumer: 'test',
    parse: (m) => {
      if (m.type !== 'test.asked') throw new DomainError('malformed_message', 'malformed_message', 'not asked');
      return m.payload as Request;
    },
    lockOrder: ({ key }) => [key],
    load: async (_tx, requests) => {
      loads.push(requests.map(({ key }) => key));
      return loads.length;
    },
    decide: async (_tx, { message, request }, loaded) => {
      decided.push(request.key);
      return `${message.id}:${request.key}:${loaded}`;
    },
  };
  return { steps, loads, decided };
};

describe('a batch of messages', () => {
  it('loads once for the whole batch, decides in lock order and answers in the order given', async () => {
    const { uow, runs } = aStore();
    const { steps, loads, decided } = recordingSteps();
    const results = await new MessageBatch(uow, steps).all([
      message('m1', 'c'),
      message('m2', 'a'),
      message('m3', 'b'),
    ]);
    expect(results).to.deep.equal(['m1:c:1', 'm2:a:1', 'm3:b:1']);
    expect(loads).to.deep.equal([['a', 'b', 'c']]);
    expect(decided).to.deep.equal(['a', 'b', 'c']);
    expect(runs).to.have.length(1);
  });

  it('answers duplicate for a message the inbox has seen, in an earlier batch or earlier in this one', async () => {
    const { uow } = aStore();
    const { steps, decided } = recordingSteps();
    const batch = new MessageBatch(uow, steps);
    expect(await batch.one(message('m1', 'a'))).to.equal('m1:a:1');
    const results = await batch.all([message('m1', 'a'), message('m2', 'b'), message('m2', 'b')]);
    expect(results).to.deep.equal(['duplicate', 'm2:b:2', 'duplicate']);
    expect(decided).to.deep.equal(['a', 'b']);
  });

  it('refuses a whole batch with a malformed message before any transaction begins', async () => {
    const { uow, runs } = aStore();
    const { steps } = recordingSteps();
    const batch = new MessageBatch(uow, steps);
    let refused: unknown;
    try {
      await batch.all([message('m1', 'a'), message('m2', 'b', 'test.unknown')]);
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(DomainError).with.property('code', 'malformed_message');
    expect(runs).to.deep.equal([]);
  });
});
