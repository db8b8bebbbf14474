// Lint guards the architecture: packages/core stays pure (no I/O, no clocks, no SDKs), and
// projects depend only on what ARCHITECTURE.md allows, by Nx tags.
import nx from "@nx/eslint-plugin";
import tseslint from "typescript-eslint";

const ioModules = [
  "node:*", "fs", "fs/*", "net", "http", "https", "http2", "child_process", "os", "path", "crypto", "dgram", "dns", "tls", "worker_threads",
  "@grpc/*", "@kubernetes/*", "dockerode", "better-sqlite3", "pg", "undici", "onnxruntime-node", "yaml",
];

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "**/out/**", "**/*.js", "**/*.mjs", "**/generated/**"] },
  {
    files: ["**/*.ts"],
    languageOptions: { parser: tseslint.parser },
    plugins: { "@nx": nx, "@typescript-eslint": tseslint.plugin },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@nx/enforce-module-boundaries": [
        "error",
        {
          allow: [],
          depConstraints: [
            { sourceTag: "type:pure", onlyDependOnLibsWithTags: ["type:pure"], bannedExternalImports: ioModules },
            { sourceTag: "scope:api", onlyDependOnLibsWithTags: ["scope:core"] },
            { sourceTag: "scope:repository", onlyDependOnLibsWithTags: ["scope:core"] },
            { sourceTag: "scope:backends", onlyDependOnLibsWithTags: ["scope:core", "scope:api", "scope:repository"] },
            { sourceTag: "scope:sim", onlyDependOnLibsWithTags: ["scope:core"] },
            { sourceTag: "scope:app", onlyDependOnLibsWithTags: ["scope:core", "scope:api", "scope:repository", "scope:backends"] },
            { sourceTag: "scope:e2e", onlyDependOnLibsWithTags: ["*"] },
          ],
        },
      ],
    },
  },
  {
    // Core must not read the clock or the global random source: time and seeds are handed in.
    files: ["packages/core/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ioModules, message: "packages/core is pure: I/O belongs in the apps and backends" }] }],
      "no-restricted-globals": ["error", "setTimeout", "setInterval", "process", "fetch", "performance", "require"],
      "no-restricted-syntax": [
        "error",
        { selector: "MemberExpression[object.name='Date'][property.name='now']", message: "core takes the time as input" },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "core takes the time as input" },
        { selector: "MemberExpression[object.name='Math'][property.name='random']", message: "core takes a seeded random source" },
      ],
    },
  },
);
