"""Execution: brokers that accept only orders the risk validator approved."""
