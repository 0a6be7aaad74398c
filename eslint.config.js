import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'data/**', '.farol-test/**', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', Buffer: 'readonly', fetch: 'readonly', performance: 'readonly', AbortSignal: 'readonly', AbortController: 'readonly' } },
    rules: {
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Hub layers (docs/architecture.md): infra is the ground the modules stand on, so it never
    // imports a module (or the wiring in main.ts / server.ts); what it needs from one, such as
    // `farol db copy`'s audit chain check, is passed in by main.ts. Tests beside infra code may
    // start whole hubs and use real repositories.
    files: ['apps/hub/src/infra/**/*.ts'],
    ignores: ['apps/hub/src/infra/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(\\.\\./)+(modules/|main\\.js$|server\\.js$)', message: 'infra must not depend on modules or on the wiring; have main.ts pass in what is needed.' }] },
      ],
    },
  },
  {
    // A module reads another module's data through that module's service or read port
    // (agents/machines.ts, jobs/job-lookup.ts), never its repository; only the wiring binds them.
    files: ['apps/hub/src/modules/*/**/*.ts'],
    ignores: ['apps/hub/src/modules/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\./[^/]+/[^/]+\\.repository(\\.js)?$', message: "another module's repository: depend on its service or its read port (agents/machines.ts, jobs/job-lookup.ts)." }] },
      ],
    },
  },
  {
    // Routes and gateways call services; only services reach repositories (of their own module).
    files: ['apps/hub/src/modules/**/*.routes.ts', 'apps/hub/src/modules/**/*.gateway.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '(\\.repository|/repositories)(\\.js)?$', message: 'routes and gateways go through a service, never a repository.' }] },
      ],
    },
  },
  {
    // Mission Control runs in browsers: React's rules of hooks (and the compiler-backed checks
    // for refs, purity and effects), browser globals for the plain script in public/.
    files: ['apps/web/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat['recommended-latest'],
  },
  {
    files: ['apps/web/public/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { window: 'readonly', document: 'readonly' } },
  },
);
