// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const forbiddenInCore = [
  'pg',
  'pg-*',
  'amqplib',
  'koa',
  'koa-*',
  '@koa/*',
  'inversify',
  'reflect-metadata',
  '@opentelemetry/*',
  'prom-client',
  'pino',
  'pino-*',
  '@electric-sql/*',
  '@gozon/messaging',
  '@gozon/messaging/*',
  '@gozon/adapters',
  '@gozon/adapters/*',
  '@gozon/apps',
  '@gozon/apps/*',
  '@gozon/web',
  '@gozon/web/*',
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', '.gozon-data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['packages/*/src/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Product code reads in functions of a page: the composition, use cases and adapters alike.
    // Suites (a describe block is one function), harnesses and tools are not held to it.
    files: ['packages/{core,messaging,adapters,apps}/src/**/*.ts', 'packages/web/public/**/*.js'],
    ignores: ['**/*.spec.ts', '**/*.spec.*.ts', '**/contract/**', 'packages/adapters/src/testing/**'],
    rules: {
      'max-lines-per-function': ['error', { max: 50, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // The core is the domain alone: no framework, driver or adapter may reach into it.
    files: ['packages/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: forbiddenInCore, message: 'packages/core stays free of frameworks, drivers and adapters.' },
            { group: ['node:*'], message: 'packages/core runs anywhere: use web-standard globals, not Node modules.' },
          ],
        },
      ],
    },
  },
  {
    // Delivery machinery, as free of drivers and frameworks as the core it serves.
    files: ['packages/messaging/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: forbiddenInCore.filter((name) => !name.startsWith('@gozon/messaging')),
              message: 'packages/messaging stays free of frameworks, drivers and adapters.',
            },
            {
              group: ['node:*'],
              message: 'packages/messaging runs anywhere: use web-standard globals, not Node modules.',
            },
          ],
        },
      ],
    },
  },
  {
    // Adapters never depend on the apps that wire them.
    files: ['packages/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@gozon/apps', '@gozon/apps/*', 'koa', 'koa-*', '@koa/*', 'inversify'],
              message: 'adapters never import apps.',
            },
          ],
        },
      ],
    },
  },
  {
    // The testkit serves the adapters' own specs: depending on any GoZon package would be a cycle.
    files: ['packages/testkit/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@gozon/*'], message: 'packages/testkit depends on no GoZon package.' }] },
      ],
    },
  },
  {
    // Repository scripts run on Node.
    files: ['scripts/**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
  },
  {
    // The front end runs in the browser, as plain ES modules.
    files: ['packages/web/public/**/*.js'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        localStorage: 'readonly',
        fetch: 'readonly',
        crypto: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        AbortSignal: 'readonly',
      },
    },
  },
  {
    // Its unit tests run in Node under mocha.
    files: ['packages/web/test/**/*.js'],
    languageOptions: { globals: { describe: 'readonly', it: 'readonly' } },
  },
);
