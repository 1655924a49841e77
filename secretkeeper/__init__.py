"""secretkeeper: find leaked credentials and rotate the ones you manage."""

__version__ = "0.1.0"
