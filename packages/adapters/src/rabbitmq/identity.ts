/**
 * The RabbitMQ user a connection URL logs in as: the user part, URL-decoded, or amqplib's default
 * `guest` when the URL names no credentials. Of a comma-separated list of nodes, the first counts
 * (every node of a cluster knows the same users).
 */
export const userOf = (url: string): string => {
  const first = url.split(',')[0]?.trim() ?? '';
  let parsed: URL;
  try {
    parsed = new URL(first);
  } catch {
    throw new Error('cannot read the user of an unparsable AMQP URL');
  }
  // As amqplib: no credentials at all means guest; a password alone means an empty user.
  if (parsed.username === '' && parsed.password === '') return 'guest';
  return decodeURIComponent(parsed.username);
};
