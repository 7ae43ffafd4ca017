import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/package.test.ts');
