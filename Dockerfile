# tradegraph in a container: the locked environment, the agent as the entry point.
#   docker build -t tradegraph .
#   docker run -d --name btc -v tradegraph-data:/data tradegraph agent start --name btc \
#       --market exchange:binance --symbol BTC/USDT --timeframe 1m
# `docker stop` sends SIGTERM: the agent finishes the decision in progress and exits.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TRADEGRAPH_DATA_DIR=/data

WORKDIR /opt/tradegraph
COPY pyproject.toml uv.lock README.md ./
COPY core ./core
COPY risk ./risk
COPY tools ./tools
COPY prompts ./prompts
COPY agents ./agents
COPY memory ./memory
COPY graphs ./graphs
COPY evals ./evals
COPY api ./api
RUN pip install --no-cache-dir uv==0.13.8 \
    && uv sync --locked --no-dev --compile-bytecode \
    && useradd --system --home-dir /data --create-home tradegraph
ENV PATH=/opt/tradegraph/.venv/bin:$PATH

USER tradegraph
VOLUME ["/data"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tradegraph"]
CMD ["agent", "list"]
