// What a Consul agent does for a gRPC check, done in-process for the MemoryRegistry: every
// `interval` ms, ask the instance's grpc.health.v1.Health/Check about the service and mark
// the registration passing (SERVING) or critical (anything else, or no answer in time).
// As in Consul, a new registration starts critical until its first check passes.
import type { HealthStatus, Instance, MemoryRegistry, Registrar } from '@kitts/sd';
import { checkHealth } from '@kitts/transport-grpc';

export interface GrpcCheck {
  /** `host:port` of the instance's gRPC server. */
  target: string;
  /** The name the health service is asked about ('' for the server as a whole). */
  service: string;
  /** ms between checks. */
  interval: number;
  /** ms to wait for an answer. */
  timeout: number;
}

/** A Registrar that registers in `registry` and keeps the registration's health up to date. */
export function checkedRegistrar(
  registry: MemoryRegistry,
  service: string,
  instance: Instance,
  check: GrpcCheck,
): Registrar {
  const registrar = registry.registrar(service, instance);
  let active = false;
  let timer: NodeJS.Timeout | undefined;
  let probing: Promise<void> | undefined;

  const probe = async (): Promise<void> => {
    let status: HealthStatus;
    try {
      const serving = await checkHealth(check.target, check.service, { timeout: check.timeout });
      status = serving === 'SERVING' ? 'passing' : 'critical';
    } catch {
      status = 'critical'; // unreachable, or no answer within the timeout
    }
    if (!active) return;
    registry.setHealth(service, instance.id, status);
    timer = setTimeout(run, check.interval);
  };
  const run = () => {
    timer = undefined;
    probing = probe();
  };

  return {
    async register() {
      await registrar.register();
      registry.setHealth(service, instance.id, 'critical');
      active = true;
      run();
    },
    async deregister() {
      active = false;
      clearTimeout(timer);
      await probing;
      await registrar.deregister();
    },
  };
}
