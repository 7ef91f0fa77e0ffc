"""The app of a static Space: serve its files on `$PORT`, `index.html` at `/`, as the Hub does.

Run by the local Hub as `python -m zenml_hf_registry.hub.spaces.static_site` in the Space's
checked-out files; nothing of the Space's own is executed.
"""

from __future__ import annotations

import os
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        print(f"{self.address_string()} {format % args}", flush=True)


def main() -> None:
    """Serve the working directory until killed."""
    port = int(os.environ.get("PORT", "7860"))
    handler = partial(_Handler, directory=str(Path.cwd()))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"serving static files on port {port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
