# A live trading node in a container: `live run` from a config mounted at /etc/live-trading/node.json.
#
#   docker build -t live-trading .
#   docker run --rm --env-file node.env -v $PWD/node.json:/etc/live-trading/node.json:ro \
#       -v live-data:/var/lib/live-trading -p 127.0.0.1:9108:9108 live-trading
#
# The config sets ops.host to "0.0.0.0" so the endpoints answer through the published port (the node logs a warning
# for any non-loopback bind); keep the port published on 127.0.0.1 or behind a network policy. Secrets come from the
# environment (--env-file), never from the image. See docs/live/OPERATIONS.md.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --create-home --home-dir /var/lib/live-trading --uid 10001 live

WORKDIR /opt/live-trading
COPY pyproject.toml ./
COPY backend ./backend
COPY configs ./configs
RUN pip install . && rm -rf /root/.cache

USER live
WORKDIR /var/lib/live-trading
VOLUME ["/var/lib/live-trading"]
EXPOSE 9108

HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('LIVE_OPS_PORT', '9108') + '/health/live', timeout=2)"

STOPSIGNAL SIGTERM
ENTRYPOINT ["live"]
CMD ["run", "--config", "/etc/live-trading/node.json"]
