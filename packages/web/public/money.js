import { MAX_MINOR } from './rules.js';

export { MAX_MINOR };

const MAX_BIG = BigInt(MAX_MINOR);

const refuse = (message) => ({ ok: false, message });

/**
 * Reads an amount typed in major units ("15", "15.5", "0.1") as integer minor units. The digits
 * are handled as text and BigInt, never as floating point, so "0.1" is exactly 10.
 * @param {string} text
 * @returns {{ ok: true, minor: number } | { ok: false, message: string }}
 */
export const parseAmount = (text) => {
  const s = String(text ?? '').trim();
  if (s === '') return refuse('Enter an amount.');
  if (/^-\s*[\d.]/.test(s)) return refuse('The amount must be more than 0.');
  if (/^\d+,\d{1,2}$/.test(s)) return refuse('Use a point for the decimals, e.g. 15.50.');
  const match = /^(\d*)(?:\.(\d*))?$/.exec(s);
  const whole = match?.[1] ?? '';
  const cents = match?.[2] ?? '';
  if (!match || whole + cents === '') return refuse('Enter a number, e.g. 15.00.');
  if (cents.length > 2) return refuse('Use at most two decimals.');
  const minor = BigInt(whole || '0') * 100n + BigInt(cents.padEnd(2, '0'));
  if (minor === 0n) return refuse('The amount must be more than 0.');
  if (minor > MAX_BIG) return refuse(`The amount must be at most ${formatMinor(MAX_MINOR)}.`);
  return { ok: true, minor: Number(minor) };
};

/**
 * Shows integer minor units in major units with two decimals: 1500 → "15.00".
 * @param {number} minor
 */
export const formatMinor = (minor) => {
  if (!Number.isSafeInteger(minor)) throw new TypeError(`not an amount in minor units: ${minor}`);
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
};
