import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger } from './logger.js';

describe('logger: no secret reaches a line', () => {
  it('hides what an error or headers carry of connection strings, passwords and credentials', () => {
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    const log = createLogger('test', false, sink);
    const err = Object.assign(new Error('connect failed'), {
      connectionString: 'postgres://gozon:s3cret@db/orders',
      password: 's3cret',
      config: { url: 'amqp://guest:s3cret@broker' },
      client: { connectionParameters: { password: 's3cret' } },
      url: 'amqp://guest:s3cret@broker',
      headers: { authorization: 'Bearer s3cret', cookie: 'session=s3cret' },
    });
    log.error({ err }, 'request failed');
    log.info({ headers: { authorization: 'Basic s3cret', cookie: 'a=s3cret', accept: 'application/json' } }, 'request');
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).to.have.length(2);
    expect(text).not.to.include('s3cret');
    expect(text).to.include('connect failed').and.to.include('application/json');
  });
});
