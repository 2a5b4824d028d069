"""A bearer-token front for a docker-registry, as distribution's token auth
works (docs/spec/auth/token.md): /v2/ requests without a valid token get
401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; GET /token
with basic credentials returns {"token": …} for that scope; requests with
`Authorization: Bearer TOKEN` are forwarded to the registry.  Tokens are
checked against the repository they were issued for."""
import base64
import http.server
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request

from harness.registry import PASSWORD, USER, free_port


class TokenProxy:
    def __init__(self, backend):
        self.backend = backend
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.tokens = {}  # token -> scope
        self.token_requests = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, headers, body=b""):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _repo(self):
                parts = self.path.split("?")[0].split("/")[2:]
                for i, p in enumerate(parts):
                    if p in ("manifests", "blobs", "tags"):
                        return "/".join(parts[:i])
                return ""

            def _token(self):
                q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                scope = q.get("scope", [""])[0]
                proxy.token_requests.append(dict(q))
                auth = self.headers.get("Authorization", "")
                want = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if auth != want:
                    return self._reply(401, [], b'{"details":"bad credentials"}')
                tok = secrets.token_hex(16)
                proxy.tokens[tok] = scope
                body = json.dumps({"token": tok, "expires_in": 300}).encode()
                self._reply(200, [("Content-Type", "application/json")], body)

            def _forward(self):
                repo = self._repo()
                auth = self.headers.get("Authorization", "")
                tok = auth[7:] if auth.startswith("Bearer ") else None
                scope = proxy.tokens.get(tok)
                if scope is None or (repo and f"repository:{repo}:" not in scope):
                    challenge = (f'Bearer realm="http://{proxy.host}/token",service="isola-test"'
                                 + (f',scope="repository:{repo}:pull"' if repo else ""))
                    return self._reply(401, [("WWW-Authenticate", challenge),
                                             ("Content-Type", "application/json")],
                                       b'{"errors":[{"code":"UNAUTHORIZED","message":"token"}]}')
                req = urllib.request.Request(f"http://{proxy.backend}{self.path}",
                                             method=self.command,
                                             headers={k: v for k, v in self.headers.items()
                                                      if k.lower() in ("accept", "range")})
                try:
                    with urllib.request.urlopen(req) as r:
                        body = r.read()
                        status, headers = r.status, r.getheaders()
                except urllib.error.HTTPError as e:
                    body, status, headers = e.read(), e.code, e.headers.items()
                keep = [(k, v) for k, v in headers if k.lower() in
                        ("content-type", "docker-content-digest", "content-range")]
                self._reply(status, keep, body)

            def do_GET(self):
                if self.path.startswith("/token"):
                    return self._token()
                self._forward()

            def do_HEAD(self):
                self._forward()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
