"""The package version, in a leaf module the transport can read without the package root."""

__version__ = "0.1.0"
