"""The package version, kept in one place for the build backend and the CLI."""

__version__ = "0.1.0"
