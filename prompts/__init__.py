"""Versioned prompt templates; a template's version is the hash of its text."""
