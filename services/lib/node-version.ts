// hotstate needs Node.js 22 or newer (Promise.withResolvers and the dependencies' own requirements). The library's
// entry point (require-node.ts) and the CLI (cli/node-check.ts) check it before anything else runs, so an older
// Node gets one line saying so instead of "Promise.withResolvers is not a function" somewhere later.

export const minimumNodeMajor = 22;

/** Undefined when `version` (process.versions.node) is new enough, else the one-line refusal. */
export function nodeVersionProblem(version: string): string | undefined {
  const major = Number(version.split('.')[0]);
  return major >= minimumNodeMajor
    ? undefined
    : `hotstate needs Node.js ${String(minimumNodeMajor)} or newer; this is Node.js ${version} (install Node 22 or 24, e.g. with nvm, or the \`node\` npm package)`;
}
