"""Vector memory in chromadb: decision traces (the audit chain) and situations (for recall)."""
