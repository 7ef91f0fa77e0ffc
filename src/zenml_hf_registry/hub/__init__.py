"""A local Hugging Face Hub: repos, files and LFS over the real Hub protocol.

Importable and runnable without ZenML. Start one in-process with :class:`LocalHub`, or from the
shell with `zenml-hf-registry hub serve`. Clients must upload over LFS: set
`HF_HUB_DISABLE_XET=1` (huggingface_hub uses Xet whenever `hf_xet` is installed).
"""

from __future__ import annotations

from zenml_hf_registry.hub.app import create_app
from zenml_hf_registry.hub.server import LocalHub, serve_forever
from zenml_hf_registry.hub.settings import HubSettings, TokenRole, TokenSpec

__all__ = ["HubSettings", "LocalHub", "TokenRole", "TokenSpec", "create_app", "serve_forever"]
