// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.infra/', '.cache/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The library is imported through kafka-library.ts only (its validators are compiled when used, not at import),
    // and only the adapter under transport/platformatic/ knows it: everything else goes through the transport seam.
    files: ['services/**/*.ts'],
    ignores: ['services/lib/transport/platformatic/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@platformatic/kafka',
              message: 'only services/lib/transport/platformatic/ knows the Kafka client library',
            },
          ],
          patterns: [
            {
              group: ['**/platformatic/kafka-library.ts'],
              message: 'only services/lib/transport/platformatic/ knows the Kafka client library',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['services/lib/transport/platformatic/**/*.ts'],
    ignores: ['services/lib/transport/platformatic/kafka-library.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: '@platformatic/kafka', message: 'import it from ./kafka-library.ts' }] },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
