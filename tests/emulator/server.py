"""HTTP front of the emulator: awsJson1_0 (X-Amz-Target) and smithy-rpc-v2-cbor (/service/.../operation/X)."""

from __future__ import annotations

import json
import re
import socket
import threading
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.emulator import ApiError, Dropped, Emulator, ram, route53resolver, sts

_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/network-firewall/")


def _encode(data: dict[str, Any], cbor: bool) -> tuple[bytes, dict[str, str]]:
    if cbor:
        import cbor2

        return cbor2.dumps(data), {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
    return json.dumps(data).encode(), {"Content-Type": "application/x-amz-json-1.0"}


def app(emulator: Emulator):
    def wsgi(environ, start_response):
        request = Request(environ)
        cbor = request.path.startswith("/service/")
        if request.path.startswith("/_emulator/"):
            return _control(emulator, request)(environ, start_response)
        if sts.is_sts(request):
            return sts.respond(emulator, request)(environ, start_response)
        if route53resolver.is_resolver(request):  # DNS Firewall (tests/emulator/route53resolver.py)
            return route53resolver.respond(emulator, request)(environ, start_response)
        if ram.is_ram(request):  # AWS RAM (tests/emulator/ram.py)
            return ram.respond(emulator, request)(environ, start_response)
        try:
            if cbor:
                import cbor2

                operation = request.path.rsplit("/", 1)[-1]
                params = cbor2.loads(request.get_data()) if request.get_data() else {}
            else:
                operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
                params = json.loads(request.get_data() or b"{}")
            match = _REGION.search(request.headers.get("Authorization", ""))
            if not match:
                raise ApiError("MissingAuthenticationTokenException", "request is not signed", 403)
            body, headers = _encode(emulator.call(match.group(1), operation, params), cbor)
            status = 200
        except ApiError as exc:
            body, headers = _encode({"__type": exc.code, "message": exc.message}, cbor)
            headers["x-amzn-ErrorType"] = exc.code
            status = exc.status
            if not exc.code:  # a proxy in front of the service: HTML, no AWS error code
                body, headers = exc.message.encode(), {"Content-Type": "text/html"}
        except Dropped:
            sock = environ["werkzeug.socket"]
            sock.shutdown(socket.SHUT_RDWR)
            return []
        return Response(body, status=status, headers=headers)(environ, start_response)

    return wsgi


def _control(emulator: Emulator, request: Request) -> Response:
    if request.path == "/_emulator/fault" and request.method == "POST":
        spec = json.loads(request.get_data())
        emulator.inject(
            spec["operation"], spec["error"], int(spec.get("count", 1)), spec.get("name"), int(spec.get("after", 0))
        )
        return Response("ok\n")
    if request.path == "/_emulator/calls":
        return Response(json.dumps(emulator.calls), content_type="application/json")
    return Response("not found\n", status=404)


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: object) -> None:
        pass


class Server:
    """The emulator on 127.0.0.1, served from a background thread."""

    def __init__(self, emulator: Emulator, port: int = 0):
        self.emulator = emulator
        self._server = make_server("127.0.0.1", port, app(emulator), threaded=True, request_handler=_Quiet)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
