"""What the sandbox tests share: an app that serves a JSON report, and the bubblewrap check."""

from __future__ import annotations

import os
import shutil

import pytest

# Appended to an app that builds `report`: serve it as JSON on $PORT.
SERVE_REPORT = """
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(report).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""
DOCKERFILE = b'FROM python:3.11-slim\nCMD ["python", "app.py"]\n'
README = b"---\nsdk: docker\napp_port: 7860\nstartup_duration_timeout: 30s\n---\n"


def require_bubblewrap() -> None:
    """Skip without bubblewrap, except in CI, which installs it with the other services."""
    if shutil.which("bwrap") is None:
        if os.environ.get("ZHR_REQUIRE_DOCKER") == "1":
            pytest.fail("bubblewrap is not installed")
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
