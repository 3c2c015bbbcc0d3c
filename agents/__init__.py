"""Analysts: they read a brief and propose; they cannot execute anything."""
