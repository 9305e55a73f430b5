"""The version of fastga (a leaf module: files record it without importing the package)."""

__version__ = "0.1.0"
