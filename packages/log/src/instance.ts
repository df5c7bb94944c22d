import type { Instance } from '@kitts/sd';

/** The log fields naming an instance: its address, and host and port when it has them. */
export function instanceFields(instance: Instance): Record<string, unknown> {
  const address = instance.address;
  const fields: Record<string, unknown> = { instance: address };
  if (instance.id !== address) fields.instanceId = instance.id;
  if (address.startsWith('unix:')) return fields;
  // The last colon: an IPv6 host has colons of its own ("[::1]:8080").
  const colon = address.lastIndexOf(':');
  if (colon > 0) {
    const port = Number(address.slice(colon + 1));
    if (Number.isInteger(port) && port > 0 && port < 65536) {
      let host = address.slice(0, colon);
      if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
      fields.host = host;
      fields.port = port;
    }
  }
  return fields;
}
