// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import { builtinModules } from 'node:module';

/**
 * Workflow code runs in Temporal's deterministic sandbox and is replayed: it may import only the
 * workflow SDK, pure domain rules and type-only activity declarations, and must not reach the
 * outside world (Node built-ins, process, fetch, the clock outside the sandbox's replacements).
 */
const nodeBuiltins = builtinModules.flatMap((name) => [name, `node:${name}`]);

/**
 * Only api/ speaks HTTP: the domain, activities and workflows throw a `Refusal`
 * (domain/refusal.ts) that api/errors.ts maps, and import nothing from api/ (not even types).
 */
const noApiImports = {
  group: ['../api', '../api/*', '../../api', '../../api/*'],
  message:
    'Only api/ speaks HTTP: throw a Refusal (domain/refusal.ts); api/errors.ts maps it to a problem.',
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.data/',
      'coverage/',
      'console/dist/',
      'console/src/generated/',
      'test-artifacts/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs', 'stack/*.js', 'stack/*.mjs'] },
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false } },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // The console (React): the rules of hooks, from the React team's own plugin.
    files: ['console/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat.recommended,
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflows are deterministic: no Node built-ins. Do I/O in an activity.',
          })),
          patterns: [
            {
              group: [
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
                '@temporalio/testing',
              ],
              message: 'Workflows import only @temporalio/workflow and @temporalio/common.',
            },
            {
              group: [
                '../activities/*',
                '../activities',
                '../infra/*',
                '../config',
                '../workers/*',
              ],
              allowTypeImports: true,
              message:
                'Workflows may import activity *types* only (`import type`); side effects live in activities.',
            },
            {
              group: ['pg', 'knex', 'express', 'pino', 'prom-client', 'zod'],
              message: 'Workflows are deterministic: no I/O libraries.',
            },
            noApiImports,
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['process', 'fetch', 'require', 'setImmediate', 'queueMicrotask', 'Buffer'].map(
          (name) => ({
            name,
            message: 'Not available (or not deterministic) in the workflow sandbox.',
          }),
        ),
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'performance',
          property: 'now',
          message: 'Use the workflow clock (Date.now() is replay-safe in the sandbox).',
        },
        {
          object: 'crypto',
          property: 'randomUUID',
          message: 'Use uuid4() from @temporalio/workflow.',
        },
      ],
    },
  },
  {
    files: [
      'ledger/**/*.ts',
      'catalog/**/*.ts',
      'redemptions/**/*.ts',
      'domain/**/*.ts',
      'program/**/*.ts',
      'changes/**/*.ts',
      'webhooks/**/*.ts',
      'activities/**/*.ts',
    ],
    rules: { 'no-restricted-imports': ['error', { patterns: [noApiImports] }] },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    rules: {
      ...tseslint.configs.disableTypeChecked.rules,
      '@typescript-eslint/no-require-imports': 'off',
    },
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'readonly',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
      },
    },
  },
);
