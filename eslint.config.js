import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.vapora/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // What ships never depends on test support (in-memory KG, fault wrappers, the nats-server launcher).
    // The domain block below replaces this rule for src/domain with a stricter one.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/test/**', '**/bench/**'], message: 'src/ must not import test or bench code.' },
          ],
        },
      ],
    },
  },
  {
    // The domain core is pure: no I/O libraries, no adapters.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@nats-io/*', 'surrealdb', '@surrealdb/*', 'pino', 'prom-client', 'node:*'],
              message: 'src/domain is pure: no I/O imports.',
            },
            {
              group: ['../bus/*', '../kg/*', '../worker/*', '../agent/*', '../cli/*'],
              message: 'src/domain must not import adapters.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
