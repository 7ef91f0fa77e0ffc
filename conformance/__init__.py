"""Upstream conformance: huggingface_hub's own test suite, run against the local Hub.

`python -m conformance.run` fetches the sdist of the installed huggingface_hub (it ships its
`tests/` but not their `conftest.py`), adds this package's pytest plugin as that conftest, starts
a local Hub per test process with the users and tokens those tests expect, and reports how many
of the tests that reach the Hub pass. See `conformance/README.md`.
"""
