/** The URL with its password masked, fit for logs and error messages. */
export const redactUrl = (url: string): string => {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparsable AMQP URL>';
  }
};

/** An error's message with every occurrence of the URL's password masked. */
export const scrubError = (err: unknown, url: string): string => {
  const message = err instanceof Error ? err.message : String(err);
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // An unparsable URL has no password we could recognise; the message is left as it is.
  }
  return password ? message.split(password).join('***') : message;
};
