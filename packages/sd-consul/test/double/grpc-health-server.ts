// A minimal grpc.health.v1.Health/Check server over node:http2, for gRPC check tests.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { grpcFrame } from './probes.js';

export interface GrpcHealthServer {
  port: number;
  /** What Check answers: SERVING (1) or NOT_SERVING (2). */
  serving: boolean;
  close(): Promise<void>;
}

export async function startGrpcHealthServer(): Promise<GrpcHealthServer> {
  const server = http2.createServer();
  const handle: GrpcHealthServer = {
    port: 0,
    serving: true,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
  server.on('stream', (stream, headers) => {
    stream.on('data', () => {});
    stream.on('end', () => {
      if (headers[':path'] !== '/grpc.health.v1.Health/Check') {
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' },
          { endStream: true },
        );
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      // HealthCheckResponse { ServingStatus status = 1 }
      stream.end(grpcFrame(Buffer.from([0x08, handle.serving ? 1 : 2])));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  handle.port = (server.address() as AddressInfo).port;
  return handle;
}
