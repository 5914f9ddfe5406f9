import { nodesOf } from './redact.js';

const userOfNode = (node: string): string => {
  let parsed: URL;
  try {
    parsed = new URL(node);
  } catch {
    throw new Error('cannot read the user of an unparsable AMQP URL');
  }
  // As amqplib: no credentials at all means guest; a password alone means an empty user.
  if (parsed.username === '' && parsed.password === '') return 'guest';
  return decodeURIComponent(parsed.username);
};

/**
 * The RabbitMQ user a connection URL logs in as: the user part, URL-decoded, or amqplib's default
 * `guest` when the URL names no credentials. A comma-separated list of nodes may give each node
 * its own password, not its own user: messages carry the publisher's user, which the broker checks
 * and the consuming service expects, so it must not change when the connection moves to another
 * node. A list naming different users is refused.
 */
export const userOf = (url: string): string => {
  const users = [...new Set(nodesOf(url).map(userOfNode))];
  if (users.length > 1)
    throw new Error(
      `the nodes of one AMQP URL list name different users (${users.join(', ')}): give every node the same user`,
    );
  return users[0] ?? userOfNode(url);
};
