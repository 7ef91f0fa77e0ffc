"""A pipeline that reports what its Space sees at its volumes: the model at /model, and the
notes each invocation appends to the space_storage bucket at /data."""

from __future__ import annotations

from pathlib import Path

from zenml import pipeline, step


@step
def read_volumes(note: str) -> str:
    """Append `note` to /data/notes.txt; report the model file, the notes, and whether the
    model volume could be written."""
    notes = Path("/data/notes.txt")
    with notes.open("a") as out:
        out.write(note + "\n")
    weights = Path("/model/w.txt")
    try:
        weights.write_text("overwritten")
        writable = True
    except OSError:
        writable = False
    seen = ",".join(notes.read_text().split())
    return f"weights={weights.read_text()} notes={seen} model_writable={writable}"


@pipeline
def volume_pipeline(note: str = "none") -> str:
    """Deploy with space_volumes (a model at /model) and space_storage."""
    return read_volumes(note)
