import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { userId } from '../http/validation.js';

export const TOKEN_USAGE = 'usage: gozon token <user_id> [--admin]';

/** Why no token can be printed under `config`, if so. */
const refusal = (config: Config): string | undefined => {
  if (config.auth.mode === 'none') return 'GOZON_AUTH=none: identity is off, requests need no token';
  if (!config.auth.builtIn) {
    return `tokens come from the OpenID provider at ${config.auth.issuer} (OIDC_ISSUER); get one there, not from gozon`;
  }
  return undefined;
};

/**
 * `gozon token <user_id> [--admin]`: prints an access token from the built-in provider, alone on
 * stdout (for `$(gozon token alice)`). Answers the exit code.
 */
export const runToken = async (
  args: readonly string[],
  config: Config,
  print: (text: string) => void,
  complain: (text: string) => void,
): Promise<number> => {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { admin: { type: 'boolean' } }, allowPositionals: true });
  } catch (err) {
    complain(`gozon token: ${err instanceof Error ? err.message : String(err)}\n${TOKEN_USAGE}`);
    return 2;
  }
  const [user, ...extra] = parsed.positionals;
  if (user === undefined || extra.length > 0) {
    complain(TOKEN_USAGE);
    return 2;
  }
  const why = refusal(config);
  if (why) {
    complain(`gozon token: ${why}`);
    return 2;
  }
  const valid = userId.safeParse(user);
  if (!valid.success) {
    complain(`gozon token: ${valid.error.issues[0]?.message ?? 'invalid user_id'}`);
    return 2;
  }
  // Loaded only here: the provider library is not needed by any other command.
  const { mintAccessToken } = await import('./built-in-provider.js');
  print(await mintAccessToken(config, valid.data, parsed.values.admin === true));
  return 0;
};
