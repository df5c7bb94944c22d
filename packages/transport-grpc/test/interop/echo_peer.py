"""The other side of the interop tests: Python's grpcio (the C core), with its own protobuf.

    python3 echo_peer.py client HOST:PORT   call a kitts server; print one JSON line of results
    python3 echo_peer.py server             serve Echo and Health; print the port; stop when stdin closes

No generated code: messages are built from descriptors at run time, so nothing but
Debian's python3-grpcio (and the python3-protobuf it depends on) is needed.
"""
import json
import sys
import threading
import time

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto


def build_messages():
    fdp = descriptor_pb2.FileDescriptorProto(name="kitts_interop.proto", package="kitts.test.v1", syntax="proto3")
    for name in ("EchoRequest", "EchoResponse"):
        m = fdp.message_type.add(name=name)
        m.field.add(name="message", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
        m.field.add(name="number", number=2, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
        m.field.add(name="tags", number=3, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
    health = descriptor_pb2.FileDescriptorProto(name="kitts_health.proto", package="grpc.health.v1", syntax="proto3")
    req = health.message_type.add(name="HealthCheckRequest")
    req.field.add(name="service", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    res = health.message_type.add(name="HealthCheckResponse")
    enum = res.enum_type.add(name="ServingStatus")
    for i, n in enumerate(("UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN")):
        enum.value.add(name=n, number=i)
    res.field.add(
        name="status", number=1, type=F.TYPE_ENUM, label=F.LABEL_OPTIONAL,
        type_name=".grpc.health.v1.HealthCheckResponse.ServingStatus",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    pool.Add(health)

    def cls(full):
        d = pool.FindMessageTypeByName(full)
        if hasattr(message_factory, "GetMessageClass"):
            return message_factory.GetMessageClass(d)
        return message_factory.MessageFactory(pool).GetPrototype(d)

    return (
        cls("kitts.test.v1.EchoRequest"),
        cls("kitts.test.v1.EchoResponse"),
        cls("grpc.health.v1.HealthCheckRequest"),
        cls("grpc.health.v1.HealthCheckResponse"),
    )


EchoRequest, EchoResponse, HealthCheckRequest, HealthCheckResponse = build_messages()
STATUS_NAMES = ("UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN")


def ser(m):
    return m.SerializeToString()


def parser(cls):
    return cls.FromString


def error_of(e):
    return {"code": e.code().name, "details": e.details(), "trailer": dict(e.trailing_metadata() or ())}


def run_client(address):
    out = {}
    with grpc.insecure_channel(address) as ch:
        echo = ch.unary_unary("/kitts.test.v1.Echo/Echo", request_serializer=ser, response_deserializer=parser(EchoResponse))
        res, call = echo.with_call(
            EchoRequest(message="hello", number=41, tags=["a", "b"]), metadata=[("correlation-id", "py-1")], timeout=5
        )
        out["echo"] = {
            "message": res.message, "number": res.number, "tags": list(res.tags),
            "header": dict(call.initial_metadata()), "trailer": dict(call.trailing_metadata()),
        }
        for name, req in (
            ("notFound", EchoRequest(message="not-found")),
            ("internal", EchoRequest(message="crash")),
            ("invalid", EchoRequest(message="", number=-5)),
        ):
            try:
                echo(req, timeout=5)
                out[name] = "no error"
            except grpc.RpcError as e:
                out[name] = error_of(e)
        try:
            echo(EchoRequest(message="slow"), timeout=0.2)
            out["deadline"] = "no error"
        except grpc.RpcError as e:
            out["deadline"] = error_of(e)

        check = ch.unary_unary(
            "/grpc.health.v1.Health/Check", request_serializer=ser, response_deserializer=parser(HealthCheckResponse)
        )
        out["check"] = STATUS_NAMES[check(HealthCheckRequest(service=""), timeout=5).status]
        try:
            check(HealthCheckRequest(service="nope"), timeout=5)
            out["checkUnknown"] = "no error"
        except grpc.RpcError as e:
            out["checkUnknown"] = e.code().name

        watch = ch.unary_stream(
            "/grpc.health.v1.Health/Watch", request_serializer=ser, response_deserializer=parser(HealthCheckResponse)
        )
        stream = watch(HealthCheckRequest(service="svc"), timeout=5)
        seen = [STATUS_NAMES[next(stream).status]]
        echo(EchoRequest(message="flip"), timeout=5)  # the kitts endpoint sets svc NOT_SERVING
        seen.append(STATUS_NAMES[next(stream).status])
        stream.cancel()
        out["watch"] = seen
    print(json.dumps(out), flush=True)


def run_server():
    state = {"slowCancelled": None}

    def echo(req, ctx):
        md = dict(ctx.invocation_metadata())
        if req.message == "unavailable":
            ctx.abort(grpc.StatusCode.UNAVAILABLE, "python is busy")
        if req.message == "not-found":
            ctx.set_trailing_metadata([("reason", "no-such-thing")])
            ctx.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
        if req.message == "slow":
            end = time.time() + 10
            while ctx.is_active() and time.time() < end:
                time.sleep(0.005)
            state["slowCancelled"] = not ctx.is_active()
            return EchoResponse(message="too late")
        ctx.send_initial_metadata([("py-header", "h-" + md.get("correlation-id", "none"))])
        ctx.set_trailing_metadata([("py-trailer", "t-" + md.get("correlation-id", "none"))])
        return EchoResponse(message=req.message.upper(), number=req.number + 1, tags=list(reversed(req.tags)))

    def reverse(req, ctx):
        if req.message == "report":
            return EchoResponse(message=json.dumps(state))
        return EchoResponse(message=req.message[::-1], number=req.number, tags=list(req.tags))

    def health_check(req, ctx):
        if req.service in ("", "python"):
            return HealthCheckResponse(status=1)
        ctx.abort(grpc.StatusCode.NOT_FOUND, "unknown service")

    def unary(fn, req_cls, res_cls):
        return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=parser(req_cls), response_serializer=ser)

    from concurrent import futures

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((
        grpc.method_handlers_generic_handler("kitts.test.v1.Echo", {
            "Echo": unary(echo, EchoRequest, EchoResponse),
            "Reverse": unary(reverse, EchoRequest, EchoResponse),
        }),
        grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
            "Check": unary(health_check, HealthCheckRequest, HealthCheckResponse),
        }),
    ))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    # The test owns our lifetime: when it closes our stdin (or dies), we stop.
    threading.Thread(target=lambda: (sys.stdin.read(), server.stop(0)), daemon=True).start()
    server.wait_for_termination()


if __name__ == "__main__":
    if sys.argv[1] == "client":
        run_client(sys.argv[2])
    else:
        run_server()
