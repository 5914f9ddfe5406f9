#!/usr/bin/env node
// Checks docker-compose.yml without a Docker engine (`npm run check:compose`): first against the
// Compose Specification's JSON schema (scripts/compose-spec/, vendored), so that a misspelt key or
// a list where a map belongs is refused, then against the project's own rules (compose/policy.mjs,
// and compose/scale.mjs for the `scale` profile, reading the files it mounts from deploy/).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { ANNOUNCED_VARS } from './compose/app-service.mjs';
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

/** A file the compose file mounts, by its path relative to the repository; undefined when missing. */
const readRepositoryFile = (path) => {
  try {
    return readFileSync(new URL(path.replace(/^\.\//, ''), root), 'utf-8');
  } catch {
    return undefined;
  }
};

/**
 * Every problem of a compose file's text, one line each; none when it passes. `files` stands in
 * for mounted files of the repository (deploy/…), by path, so a test can change one.
 */
export const checkCompose = (text, file = 'docker-compose.yml', files = {}) => {
  let document;
  try {
    document = interpolate(parse(text, { merge: true }));
  } catch (err) {
    return [`${file}: not valid YAML (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`];
  }
  const invalid = schemaProblems(document);
  // The project's rules read a file of the shape the specification gives; past that, they would guess.
  if (invalid.length > 0) return invalid;
  const readFile = (path) => files[path.replace(/^\.\//, '')] ?? readRepositoryFile(path);
  return policyProblems(document, { file, commands: gozonCommands(), variables: gozonVariables(), readFile });
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2] ?? 'docker-compose.yml';
  const text = readFileSync(new URL(file, root), 'utf-8');
  const problems = checkCompose(text, file);
  if (problems.length > 0) {
    console.error(`${file}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`${file}: ok (the Compose Specification and the project's rules)`);
  // Allowed ahead of the code that reads them; said each time, so that it is not forgotten.
  const unread = ANNOUNCED_VARS.filter((v) => text.includes(v) && !gozonVariables().includes(v));
  for (const variable of unread) {
    console.log(`  note: ${variable} is in the contract, but packages/apps/src/env.ts does not read it yet`);
  }
}
