import type { StoredDeadLetter, WireMessage } from '@gozon/messaging';

// Shared by the stores: what of a dead letter goes into text columns, and how it comes back.

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu;

/** `text` as Postgres can store it: U+0000 and lone surrogates become U+FFFD (a reason is for reading). */
export const storableText = (text: string): string =>
  text.replaceAll('\u0000', '\ufffd').replace(LONE_SURROGATE, '\ufffd');

/** The messageId to find a dead letter by, when it has one Postgres stores as it is. */
export const findableId = (message: WireMessage): string | null => {
  const id = message.properties.messageId;
  return typeof id === 'string' && storableText(id) === id ? id : null;
};

/**
 * The properties as JSON text: JSON escapes U+0000 and lone surrogates, so whatever a malformed
 * message carried is kept exactly and comes back as it was.
 */
export const propertiesText = (message: WireMessage): string => JSON.stringify(message.properties);

/** A stored row back as a dead letter. */
export const storedLetter = (row: {
  id: string | number;
  queue: string;
  properties: string;
  body: Uint8Array;
  reason: string;
  dead_lettered_at: Date | string;
}): StoredDeadLetter => ({
  id: String(row.id),
  queue: row.queue,
  message: { properties: JSON.parse(row.properties) as WireMessage['properties'], body: new Uint8Array(row.body) },
  reason: row.reason,
  deadLetteredAt: new Date(row.dead_lettered_at),
});
