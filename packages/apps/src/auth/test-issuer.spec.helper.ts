import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export const signingKey = async (kid: string, alg = 'RS256'): Promise<SigningKey> => {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
};

/**
 * A stand-in OpenID issuer for tests: a discovery document and a JWKS over real HTTP, whose keys
 * a test can rotate, and that can be made unreachable.
 */
export class TestIssuer {
  keys: SigningKey[] = [];
  jwksFetches = 0;
  /** The issuer the discovery document names, when a test wants it to lie. */
  advertised: string | undefined;
  private constructor(
    private readonly server: Server,
    readonly issuer: string,
  ) {}

  static async start(port = 0): Promise<TestIssuer> {
    const holder: { self?: TestIssuer } = {};
    const server = createServer((req, res) => holder.self!.answer(req.url ?? '', res));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const self = new TestIssuer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/issuer`);
    holder.self = self;
    self.keys = [await signingKey('key-1')];
    return self;
  }

  /** Signs `claims` (defaults: this issuer, audience gozon, an hour) with `key` (default the first). */
  sign(claims: JWTPayload, key: SigningKey = this.keys[0]!, header: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: this.issuer, aud: 'gozon', iat: now, exp: now + 3600, ...claims })
      .setProtectedHeader({ alg: key.publicJwk.alg ?? 'RS256', kid: key.kid, typ: 'at+jwt', ...header })
      .sign(key.privateKey);
  }

  get port(): number {
    return Number(new URL(this.issuer).port);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(url: string, res: ServerResponse): void {
    res.setHeader('content-type', 'application/json');
    if (url === '/issuer/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer: this.advertised ?? this.issuer, jwks_uri: `${this.issuer}/jwks` }));
    } else if (url === '/issuer/jwks') {
      this.jwksFetches += 1;
      res.end(JSON.stringify({ keys: this.keys.map((k) => k.publicJwk) }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  }
}
