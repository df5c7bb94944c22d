// The double's HTTP, TCP and gRPC health probes, as Consul's agent runs them
// (agent/checks/check.go): HTTP 2xx -> passing, 429 -> warning, else critical; TCP connect
// -> passing; gRPC grpc.health.v1.Health/Check answering SERVING -> passing.
// No connection is kept alive: the suites check that nothing is left open.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';

export type Status = 'passing' | 'warning' | 'critical';
export interface ProbeResult {
  status: Status;
  output: string;
}

export function probeHttp(url: string, method: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = http.request(url, { method, agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      const output = `HTTP ${method} ${url}: ${code} ${res.statusMessage ?? ''}`.trim();
      res.on('end', () =>
        resolve({
          status: code >= 200 && code < 300 ? 'passing' : code === 429 ? 'warning' : 'critical',
          output,
        }),
      );
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs}ms`)));
    req.on('error', (err) =>
      resolve({ status: 'critical', output: `HTTP ${method} ${url}: ${err.message}` }),
    );
    req.end();
  });
}

export function probeTcp(hostPort: string, timeoutMs: number): Promise<ProbeResult> {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(hostPort.slice(i + 1));
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`timeout after ${timeoutMs}ms`)));
    sock.once('connect', () => {
      sock.destroy();
      resolve({ status: 'passing', output: `TCP connect ${hostPort}: Success` });
    });
    sock.once('error', (err) =>
      resolve({ status: 'critical', output: `dial tcp ${hostPort}: ${err.message}` }),
    );
  });
}

/** `target` is "host:port" or "host:port/service". */
export function probeGrpc(target: string, timeoutMs: number): Promise<ProbeResult> {
  const slash = target.indexOf('/');
  const hostPort = slash < 0 ? target : target.slice(0, slash);
  const service = slash < 0 ? '' : target.slice(slash + 1);
  return new Promise((resolve) => {
    let done = false;
    const session = http2.connect(`http://${hostPort}`);
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ status: 'critical', output: `gRPC ${target}: timeout` }),
      timeoutMs,
    );
    session.on('error', (err) => finish({ status: 'critical', output: `gRPC ${target}: ${err.message}` }));
    const stream = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (err) => finish({ status: 'critical', output: `gRPC ${target}: ${err.message}` }));
    stream.on('trailers', (trailers) => {
      const body = Buffer.concat(chunks);
      // HealthCheckResponse { status = 1 (varint) }: SERVING is 1.
      const serving =
        trailers['grpc-status'] === '0' && body.length >= 7 && body[5] === 0x08 && body[6] === 1;
      finish({
        status: serving ? 'passing' : 'critical',
        output: `gRPC ${target}: ${serving ? 'SERVING' : `not serving (grpc-status ${trailers['grpc-status']})`}`,
      });
    });
    stream.on('close', () => finish({ status: 'critical', output: `gRPC ${target}: stream closed` }));
    stream.end(grpcFrame(healthCheckRequest(service)));
  });
}

/** HealthCheckRequest { string service = 1 } in protobuf. */
export function healthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const s = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]);
}

export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
