"""The chat over HTTP: a FastAPI app (`app.create_app`) over any `ChatService`, its key auth,
its error bodies, the seam other surfaces mount under it (`mounts`), and uvicorn (`serve`)."""

from typing import Final

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8765
