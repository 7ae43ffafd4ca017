import { runOnSecuredCluster } from './secured-cluster.ts';

await runOnSecuredCluster('integration/cli-watch.test.ts');
