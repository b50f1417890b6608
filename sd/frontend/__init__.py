"""Frontends: source formats -> sd's IR."""
