"""Course-provider adapters. Each adapter knows one provider's HTTP API or file format
and nothing else: it yields pages of normalized `ProviderRecord`s (see base.py)."""
