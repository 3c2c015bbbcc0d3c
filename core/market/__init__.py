"""Market data sources (synthetic, recorded, exchange) behind one interface, and the replay feed."""
