"""The operator's dashboard at `/`: server-rendered pages over the served data directory,
updated live over server-sent events, signed in with an API key (`routes.dashboard_router`)."""
