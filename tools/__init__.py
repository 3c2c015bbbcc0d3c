"""Quant tools (indicators, features, regime, metrics) and the execution tool (brokers)."""
