import { parseArgs } from 'node:util';
import { strictly, UsageError, USAGE_EXIT_CODE } from '../command-line.js';
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
    parsed = strictly('gozon token', () =>
      parseArgs({
        args: [...args],
        options: { admin: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
      }),
    );
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    complain(err.message);
    return USAGE_EXIT_CODE;
  }
  if (parsed.values.help) {
    print(TOKEN_USAGE);
    return 0;
  }
  const [user, ...extra] = parsed.positionals;
  if (user === undefined || extra.length > 0) {
    complain(
      user === undefined
        ? `gozon token: no user_id given; ${TOKEN_USAGE}`
        : `gozon token: one user_id only; ${TOKEN_USAGE}`,
    );
    return USAGE_EXIT_CODE;
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
