"""LangGraph graphs: the decision cycle and the session that drives it over a market."""
