import { randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { z } from 'zod';

/** The built-in provider's secrets, kept in `<dataDir>/auth/` so that a restart keeps every session and token valid. */
export interface ProviderSecrets {
  /** Private signing keys (JWK); the first signs, all are published. */
  readonly signingKeys: readonly Record<string, unknown>[];
  /** Keys signing the provider's cookies. */
  readonly cookieKeys: readonly string[];
  /** The web client's secret (the gateway's backend-for-frontend). */
  readonly webClientSecret: string;
}

export const SIGNING_ALG = 'RS256';

const FILE = 'provider-secrets.json';

const schema = z.object({
  signingKeys: z.array(z.looseObject({ kty: z.literal('RSA'), kid: z.string().min(1), d: z.string().min(1) })).min(1),
  cookieKeys: z.array(z.string().min(32)).min(1),
  webClientSecret: z.string().min(32),
});

const generate = async (): Promise<ProviderSecrets> => {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return {
    signingKeys: [{ ...jwk, kid: randomUUID(), alg: SIGNING_ALG, use: 'sig' }],
    cookieKeys: [randomBytes(32).toString('base64url')],
    webClientSecret: randomBytes(32).toString('base64url'),
  };
};

const read = async (path: string): Promise<ProviderSecrets | undefined> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path} is not a valid secrets file; remove it to generate new keys`);
  return parsed.data;
};

/**
 * The secrets in `dir`, generated on first use. A new set is written whole under a name of its own,
 * then hard-linked into place, which fails if the file exists: of two processes starting at once
 * (the gateway and `gozon token`) one wins and the other reads the winner's, so both sign alike.
 */
export const loadOrCreateSecrets = async (dir: string): Promise<ProviderSecrets> => {
  const path = join(dir, FILE);
  const existing = await read(path);
  if (existing) return existing;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const fresh = await generate();
  const temp = join(dir, `.${FILE}.${process.pid}.${randomUUID()}`);
  await writeFile(temp, JSON.stringify(fresh), { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, path);
    return fresh;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const winner = await read(path);
    if (!winner) throw new Error(`${path} vanished while it was being created`, { cause: err });
    return winner;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
};
