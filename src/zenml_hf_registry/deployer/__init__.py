"""The Hugging Face Space deployer: ZenML glue in `deployer.py`, Space logic in `space.py`."""
