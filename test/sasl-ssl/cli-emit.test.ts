import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/cli-emit.test.ts');
