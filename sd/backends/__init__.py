"""Backends: IR -> runnable code over an array namespace."""
