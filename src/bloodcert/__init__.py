"""bloodcert: the national electronic voluntary blood donation certificate platform."""

__version__ = "0.1.0"
