"""A local Hugging Face Hub: repos, files, LFS and Xet storage over the real Hub protocol.

Importable and runnable without ZenML. Start one in-process with :class:`LocalHub`, or from the
shell with `zenml-hf-registry hub serve`. Default clients work unchanged (huggingface_hub uploads
through Xet whenever `hf_xet` is installed); registry prefixes speak LFS only.
"""

from __future__ import annotations

from zenml_hf_registry.hub.app import create_app
from zenml_hf_registry.hub.server import LocalHub, serve_forever
from zenml_hf_registry.hub.settings import HubSettings, TokenRole, TokenSpec

__all__ = ["HubSettings", "LocalHub", "TokenRole", "TokenSpec", "create_app", "serve_forever"]
