"""The chat over HTTP: a FastAPI app (`app.create_app`) over any `ChatService`, its key auth,
its error bodies, the seam other surfaces mount under it (`mounts`), and uvicorn (`serve`)."""
