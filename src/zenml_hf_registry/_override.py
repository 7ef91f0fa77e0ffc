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

The same hook lets `zenml deployment invoke` reach private Spaces: ZenML's `invoke_deployment`
sends only the deployment's auth key, and a private Space's gate wants a Hugging Face token
(without one the Hub answers 404, as if the Space did not exist). ZenML offers deployers no
way to add a header, so `zenml.deployers.utils.invoke_deployment` is wrapped: a private Space
of this deployer is invoked with the deployer's token (read from its ZenML secret at call
time, never stored), every other deployment goes to ZenML's function unchanged. This part
does not depend on the flavor override.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

__all__ = [
    "BUILTIN_FLAVOR_MODULE",
    "INVOKE_MODULE",
    "OVERRIDE_ENV",
    "install",
    "override_enabled",
]

BUILTIN_FLAVOR_MODULE = "zenml.integrations.huggingface.flavors.huggingface_deployer_flavor"
INVOKE_MODULE = "zenml.deployers.utils"
OVERRIDE_ENV = "ZENML_HF_REGISTRY_OVERRIDE_BUILTIN"


def override_enabled() -> bool:
    """Whether the override is on (the default) according to the environment."""
    return os.environ.get(OVERRIDE_ENV, "true").strip().lower() not in ("0", "false", "no", "off")


def _patch_invoke(module: ModuleType) -> None:
    zenml_invoke: Callable[..., Any] = module.invoke_deployment
    if getattr(zenml_invoke, "__wrapped__", None) is not None:  # wrapped already
        return

    @functools.wraps(zenml_invoke)
    def invoke_deployment(*args: Any, **kwargs: Any) -> Any:
        from zenml_hf_registry.deployer.invoke import invoke_zenml_deployment

        return invoke_zenml_deployment(zenml_invoke, *args, **kwargs)

    module.invoke_deployment = invoke_deployment  # type: ignore[attr-defined]


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
        _PATCHES[module.__name__](module)


class _Finder(importlib.abc.MetaPathFinder):
    """Wraps the loaders of the modules in `_PATCHES`, leaving every other import alone."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _PATCHES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


_PATCHES: dict[str, Callable[[ModuleType], None]] = {}


def install() -> None:
    """The `zenml.init_hooks` entry point. Runs while `zenml` itself is still importing, so it
    only registers an import hook; nothing of ZenML is imported here."""
    _PATCHES[INVOKE_MODULE] = _patch_invoke
    if override_enabled():
        _PATCHES[BUILTIN_FLAVOR_MODULE] = _patch
    for name, patch in _PATCHES.items():
        if name in sys.modules:  # imported before us: patch in place
            patch(sys.modules[name])
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
