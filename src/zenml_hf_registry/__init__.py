"""Ship ZenML pipelines to Hugging Face Docker Spaces; keep model snapshots in a private registry.

Importing this package stays light: it never imports the local Hub emulator (FastAPI, uvicorn)
or starts a server. The emulator lives in :mod:`zenml_hf_registry.hub` and is imported on demand.
"""

from __future__ import annotations

from zenml_hf_registry._version import __version__

__all__ = ["__version__"]
