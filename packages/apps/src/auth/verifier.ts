import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { UserId, type Actor } from '@gozon/core';

/** Asymmetric algorithms only: a token signed with a shared secret (or none) is never accepted. */
export const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** The scope that lets a caller act for any user. */
export const ADMIN_SCOPE = 'gozon:admin';

export interface VerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  /** The claim that names the user. */
  readonly userClaim: string;
  /** Where the keys are; unset, the `jwks_uri` of the issuer's discovery document. */
  readonly jwksUrl?: string | undefined;
  /** How long after a fetch of the keys an unknown `kid` may make the next one (jose's default: 30 s). */
  readonly cooldownMs?: number;
  /** How long a fetch of the discovery document or the keys may take. */
  readonly timeoutMs?: number;
}

/** The token is missing or fails a check: 401. The reason is for logs, never the token's content. */
export class Unauthorized extends Error {}

/** The issuer's keys cannot be had right now: 503, the caller may try again. */
export class KeysUnavailable extends Error {}

/** Skew allowed on `exp` and `nbf`. */
const CLOCK_TOLERANCE_S = 60;

/**
 * Verifies OpenID Connect access tokens (JWT) of one issuer with jose: signature against the
 * issuer's JWKS (found through its discovery document, cached, fetched again on an unknown `kid`),
 * `iss`, `aud`, `exp`/`nbf`, and an allow-list of asymmetric algorithms.
 */
export class TokenVerifier {
  private keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(private readonly options: VerifierOptions) {}

  /** The actor a token proves; `Unauthorized` or `KeysUnavailable` otherwise. */
  async verify(token: string): Promise<Actor> {
    const keys = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw classify(err);
    }
    return actorOf(payload, this.options.userClaim);
  }

  /** Fetches the keys now (at start-up), so that the first request need not wait for them. */
  async ready(): Promise<void> {
    await this.keySet();
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    // A failed discovery is not kept: the next request (or warm-up round) tries again.
    this.keys ??= this.discover().catch((err: unknown) => {
      this.keys = undefined;
      throw err instanceof KeysUnavailable ? err : new KeysUnavailable(String(err));
    });
    return this.keys;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    const { jwksUrl, issuer, cooldownMs, timeoutMs = 5_000 } = this.options;
    const url = jwksUrl ?? (await jwksUriOf(issuer, timeoutMs));
    const keys = createRemoteJWKSet(new URL(url), {
      timeoutDuration: timeoutMs,
      ...(cooldownMs === undefined ? {} : { cooldownDuration: cooldownMs }),
    });
    // Fetch once now: an unreachable issuer is found out here, not on each request.
    await keys.reload();
    return keys;
  }
}

/** The `jwks_uri` of the issuer's discovery document, which must name the same issuer. */
const jwksUriOf = async (issuer: string, timeoutMs: number): Promise<string> => {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new KeysUnavailable(`discovery document answered ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (document.issuer !== issuer) throw new KeysUnavailable('discovery document names another issuer');
  if (typeof document.jwks_uri !== 'string') throw new KeysUnavailable('discovery document has no jwks_uri');
  return document.jwks_uri;
};

/** jose's failures of the keys themselves are ours (503); every other one is the token's (401). */
const classify = (err: unknown): Error => {
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return new KeysUnavailable(err.code);
  if (err instanceof errors.JOSEError) return new Unauthorized(err.code);
  // Anything else comes from fetching keys (the issuer went away while a new `kid` was looked up).
  return new KeysUnavailable(err instanceof Error ? err.message : String(err));
};

const scopesOf = (payload: JWTPayload): string[] => {
  const scope = payload['scope'] ?? payload['scp'];
  if (typeof scope === 'string') return scope.split(' ');
  return Array.isArray(scope) ? scope.filter((s): s is string => typeof s === 'string') : [];
};

const actorOf = (payload: JWTPayload, userClaim: string): Actor => {
  let userId: UserId;
  try {
    userId = UserId(payload[userClaim]);
  } catch {
    throw new Unauthorized('the user claim is not a valid user id');
  }
  return { userId, admin: scopesOf(payload).includes(ADMIN_SCOPE) };
};
