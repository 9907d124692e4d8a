"""A tiny stand-in for the Hugging Face Hub on 127.0.0.1, serving folders ``ROOT/org/name`` as model repos.

It speaks just enough of the Hub's HTTP API for ``huggingface_hub.snapshot_download`` (and so
``interestyle.load_encoder``) to run its real code path: repo info, file tree, HEAD/GET of files.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

SHA = "0123456789abcdef0123456789abcdef01234567"


class HubServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        handler = type("Handler", (_Handler,), {"hub": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> HubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: HubServer

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, code: str) -> None:
        self._send(404, json.dumps({"error": code}).encode(), {"X-Error-Code": code, "X-Repo-Commit": SHA})

    def _json(self, data: object) -> None:
        self._send(200, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _repo(self, org: str, name: str) -> Path | None:
        folder = self.hub.root / org / name
        return folder if folder.is_dir() else None

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self.hub.requests.append(f"{self.command} {self.path}")
        parts = [unquote(p) for p in urlparse(self.path).path.strip("/").split("/")]
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            repo = self._repo(parts[2], parts[3])
            if repo is None:
                return self._error("RepoNotFound")
            rest = parts[4:]
            files = sorted(p for p in repo.rglob("*") if p.is_file())
            if not rest or rest[0] == "revision":
                if rest and rest[1] not in ("main", SHA):
                    return self._error("RevisionNotFound")
                siblings = [{"rfilename": str(p.relative_to(repo))} for p in files]
                return self._json({"id": f"{parts[2]}/{parts[3]}", "sha": SHA, "siblings": siblings})
            if rest[0] == "tree":
                return self._json(
                    [
                        {"type": "file", "path": str(p.relative_to(repo)), "size": p.stat().st_size, "oid": _oid(p)}
                        for p in files
                    ]
                )
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = self._repo(parts[0], parts[1])
            if repo is None:
                return self._error("RepoNotFound")
            if parts[3] not in ("main", SHA):
                return self._error("RevisionNotFound")
            path = repo.joinpath(*parts[4:])
            if not path.is_file():
                return self._error("EntryNotFound")
            headers = {"X-Repo-Commit": SHA, "ETag": f'"{_oid(path)}"', "Content-Type": "application/octet-stream"}
            return self._send(200, path.read_bytes(), headers)
        self._error("RepoNotFound")


def _oid(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
