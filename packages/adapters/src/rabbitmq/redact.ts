/** The nodes of an AMQP URL that may list several, comma-separated, in order. */
export const nodesOf = (url: string): string[] =>
  url
    .split(',')
    .map((node) => node.trim())
    .filter((node) => node !== '');

const redactOne = (url: string): string => {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparsable AMQP URL>';
  }
};

/** The URL (or each URL of a list) with its password masked, fit for logs and error messages. */
export const redactUrl = (url: string): string => nodesOf(url).map(redactOne).join(',') || redactOne(url);

/** An error's message with every occurrence of the password of the URL, or of any URL of a list, masked. */
export const scrubError = (err: unknown, url: string): string => {
  let message = err instanceof Error ? err.message : String(err);
  for (const node of nodesOf(url)) {
    let password = '';
    try {
      password = decodeURIComponent(new URL(node).password);
    } catch {
      // An unparsable URL has no password we could recognise; the message is left as it is.
    }
    if (password) message = message.split(password).join('***');
  }
  return message;
};
