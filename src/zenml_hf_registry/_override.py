"""Make the `huggingface` deployer flavor this package's, wherever ZenML imports it.

ZenML ships a deployer flavor named `huggingface`, and the flavor table is unique on
(name, type), so a second flavor of that name cannot be registered. Instead, this module is a
`zenml.init_hooks` entry point: it runs at `import zenml` in every process that has this
package installed (the CLI, a ZenML server, the deployed Space), and arranges that ZenML's
built-in flavor module exposes our flavor class under its own name. Components registered
with the built-in flavor keep working (our config accepts all its keys), and flavor records
stored before this package was installed resolve to our class too, because ZenML loads
flavors by that module path.

Set `ZENML_HF_REGISTRY_OVERRIDE_BUILTIN=false` to keep ZenML's own flavor.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["BUILTIN_FLAVOR_MODULE", "OVERRIDE_ENV", "install", "override_enabled"]

BUILTIN_FLAVOR_MODULE = "zenml.integrations.huggingface.flavors.huggingface_deployer_flavor"
OVERRIDE_ENV = "ZENML_HF_REGISTRY_OVERRIDE_BUILTIN"


def override_enabled() -> bool:
    """Whether the override is on (the default) according to the environment."""
    return os.environ.get(OVERRIDE_ENV, "true").strip().lower() not in ("0", "false", "no", "off")


def _patch(module: ModuleType) -> None:
    from zenml_hf_registry import flavors

    module.HuggingFaceDeployerFlavor = flavors.HuggingFaceDeployerFlavor  # type: ignore[attr-defined]
    module.HuggingFaceDeployerConfig = flavors.HuggingFaceDeployerConfig  # type: ignore[attr-defined]
    module.HuggingFaceDeployerSettings = flavors.HuggingFaceDeployerSettings  # type: ignore[attr-defined]


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, wrapped: importlib.abc.Loader) -> None:
        self._wrapped = wrapped

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._wrapped.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._wrapped.exec_module(module)
        _patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    """Wraps the loader of ZenML's built-in flavor module, leaving every other import alone."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != BUILTIN_FLAVOR_MODULE:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


def install() -> None:
    """The `zenml.init_hooks` entry point. Runs while `zenml` itself is still importing, so it
    only registers an import hook; nothing of ZenML is imported here."""
    if not override_enabled():
        return
    if BUILTIN_FLAVOR_MODULE in sys.modules:  # imported before us: patch in place
        _patch(sys.modules[BUILTIN_FLAVOR_MODULE])
        return
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
