// ESLint (flat config): typescript-eslint's recommended rules over the
// TypeScript sources, tests, benchmarks and the page. The AssemblyScript kernels
// are another dialect (i32, f32, unchecked) and are checked by their compiler.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'web/dist/',
      'docs/api/',
      'src/kernels/wasm/assembly/',
      'src/kernels/wasm/generated/',
      'native/build/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // `_` names a value that must be taken but is not used (a loop that only drains a generator).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        performance: 'readonly',
      },
    },
  },
);
