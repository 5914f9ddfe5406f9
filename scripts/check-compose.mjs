#!/usr/bin/env node
// Checks docker-compose.yml without a Docker engine (`npm run check:compose`): first against the
// Compose Specification's JSON schema (scripts/compose-spec/, vendored), so that a misspelt key or
// a list where a map belongs is refused, then against the project's own rules (compose/policy.mjs).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { policyProblems } from './compose/policy.mjs';
import { schemaProblems } from './compose/schema.mjs';
import { interpolate } from './compose/view.mjs';

const root = new URL('../', import.meta.url);

/** The parts `gozon` knows, from its source (the check runs before any build). */
const gozonCommands = () => {
  const source = readFileSync(new URL('packages/apps/src/gozon-args.ts', root), 'utf-8');
  const match = /const COMMANDS = \[([^\]]*)\]/.exec(source);
  if (!match) throw new Error('packages/apps/src/gozon-args.ts: cannot find the COMMANDS list');
  return [...match[1].matchAll(/'([a-z]+)'/g)].map((m) => m[1]);
};

/** The variables GoZon reads: the keys of its environment schema. */
const gozonVariables = () => {
  const source = readFileSync(new URL('packages/apps/src/env.ts', root), 'utf-8');
  return [...source.matchAll(/^ {2}([A-Z][A-Z0-9_]*): /gm)].map((m) => m[1]);
};

/** Every problem of a compose file's text, one line each; none when it passes. */
export const checkCompose = (text, file = 'docker-compose.yml') => {
  let document;
  try {
    document = interpolate(parse(text, { merge: true }));
  } catch (err) {
    return [`${file}: not valid YAML (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`];
  }
  const invalid = schemaProblems(document);
  // The project's rules read a file of the shape the specification gives; past that, they would guess.
  if (invalid.length > 0) return invalid;
  return policyProblems(document, { file, commands: gozonCommands(), variables: gozonVariables() });
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2] ?? 'docker-compose.yml';
  const problems = checkCompose(readFileSync(new URL(file, root), 'utf-8'), file);
  if (problems.length > 0) {
    console.error(`${file}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`${file}: ok (the Compose Specification and the project's rules)`);
}
