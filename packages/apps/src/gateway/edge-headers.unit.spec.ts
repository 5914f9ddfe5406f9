import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { clientAddress, plainAddress, stripHopByHop } from './edge-headers.js';

const from = (remoteAddress: string, forwardedFor?: string) =>
  ({
    socket: { remoteAddress },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  }) as unknown as IncomingMessage;

describe('the edge headers: who the client is, what is hop-by-hop', () => {
  const trusted = new Set(['10.0.0.2', '10.0.0.3']);

  it('takes the peer as the client unless it is a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(clientAddress(from('203.0.113.9', '1.2.3.4'), trusted)).to.equal('203.0.113.9');
    expect(clientAddress(from('::ffff:203.0.113.9'), trusted)).to.equal('203.0.113.9');
  });

  it('behind trusted proxies, takes the last address they did not add', () => {
    expect(clientAddress(from('10.0.0.2', '1.2.3.4, 198.51.100.7'), trusted)).to.equal('198.51.100.7');
    expect(clientAddress(from('10.0.0.2', '1.2.3.4, 198.51.100.7, 10.0.0.3'), trusted)).to.equal('198.51.100.7');
    expect(clientAddress(from('10.0.0.2', '10.0.0.3'), trusted)).to.equal('10.0.0.3');
    expect(clientAddress(from('10.0.0.2'), trusted)).to.equal('10.0.0.2');
  });

  it('leaves IPv6 addresses as they are', () => {
    expect(plainAddress('::1')).to.equal('::1');
    expect(plainAddress('2001:db8::ffff:1.2.3.4')).to.equal('2001:db8::ffff:1.2.3.4');
  });

  it('removes Connection, the headers it names (never Host or Transfer-Encoding), and the fixed hop-by-hop ones', () => {
    const headers = {
      connection: 'close, X-Mine, host, transfer-encoding',
      'x-mine': '1',
      host: 'gozon',
      'transfer-encoding': 'chunked',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      upgrade: 'h2c',
      'proxy-authorization': 'Basic x',
      accept: '*/*',
    };
    stripHopByHop(headers);
    expect(headers).to.deep.equal({ host: 'gozon', 'transfer-encoding': 'chunked', accept: '*/*' });
  });
});
