// The built-in OpenID provider, for the repository's own tools (see internals.ts).
export { BuiltInProvider, builtInProviderOptions, mintAccessToken } from './auth/built-in-provider.js';
