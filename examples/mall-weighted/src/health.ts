// Health checks run by this process, for registries that have none of their own. Every
// `interval` ms, GET the instance's /health (a new connection each time, as Consul's agent
// does): 2xx is passing, anything else or no answer is critical. The verdict is applied
// the registry's way: MemoryRegistry.setHealth, or deregister/register for etcd and
// ZooKeeper, which only know "registered or not".
import { request } from 'node:http';
import type { Registrar } from '@kitts/sd';

export function checkHttp(url: string, timeout: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, headers: { connection: 'close' }, timeout }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

export interface CheckedRegistration {
  /** `http://host:port/health`. */
  url: string;
  /** ms between checks. */
  interval: number;
  /** Runs once on register(), before the first check (e.g. register as critical). */
  start(): Promise<void>;
  /** Applies a verdict; called for the first check and then on every change. */
  apply(passing: boolean): Promise<void>;
  /** Runs on deregister(), after the checks stopped. */
  stop(): Promise<void>;
}

/** A Registrar that keeps checking the instance between register() and deregister(). */
export function checkedRegistrar(r: CheckedRegistration): Registrar {
  let active = false;
  let last: boolean | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const round = async (): Promise<void> => {
    const passing = await checkHttp(r.url, Math.min(1000, r.interval * 4));
    if (!active) return;
    if (passing !== last) {
      last = passing;
      await r.apply(passing);
    }
    if (active) timer = setTimeout(tick, r.interval);
  };
  const tick = () => {
    timer = undefined;
    running = round();
  };

  return {
    async register() {
      await r.start();
      active = true;
      last = undefined;
      running = round();
      await running; // the first verdict is in when register() resolves
    },
    async deregister() {
      active = false;
      clearTimeout(timer);
      await running;
      await r.stop();
    },
  };
}
