"""bandlog's version, where every layer may read it (log headers, --version) without importing
the package's front door."""

__version__ = "0.1.0"
