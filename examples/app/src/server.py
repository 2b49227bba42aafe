"""A tiny service for the container-gate example."""

from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> str:
    return "ok"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8080)  # noqa: S104 - inside a container
