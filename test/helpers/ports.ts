// Free loopback ports for servers a test starts itself: fixed ports collide with other programs on shared machines.
import { portInUse } from '../../infra/processes.ts';

/**
 * The first of `count` consecutive ports that are free now, from a random start so parallel tests rarely meet.
 * Below 32768, where Linux hands out no ephemeral ports: a client socket cannot take the port before the server.
 */
export async function freePortBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + 2 * Math.floor(Math.random() * 6_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (!(await Promise.all(ports.map(portInUse))).some(Boolean)) return base;
  }
  throw new Error(`no block of ${String(count)} free ports found`);
}
