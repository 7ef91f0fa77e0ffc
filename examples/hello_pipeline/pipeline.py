"""A tiny deployable pipeline: `/invoke` with `{"parameters": {"name": "Alice"}}` greets Alice."""

from __future__ import annotations

from zenml import pipeline, step


@step
def greet(name: str) -> str:
    """Say hello."""
    return f"Hello, {name}!"


@pipeline
def hello_pipeline(name: str = "world") -> str:
    """Deploy with `zenml pipeline deploy examples.hello_pipeline.pipeline.hello_pipeline`."""
    return greet(name)
