"""``offers serve`` (the HTTP service) and ``offers publish`` (load a trained model into Redis).

Both import the serving stage lazily, and serving never imports training code or MLflow.
"""

from __future__ import annotations

import asyncio
import enum
from pathlib import Path

import typer
from rich.console import Console

from engine.errors import ConfigError


class StoreKind(enum.StrEnum):
    """Which online store to use."""

    embedded = "embedded"
    redis = "redis"


def _overrides(store: StoreKind | None, **values: object) -> dict[str, object]:
    out = {k: v for k, v in values.items() if v is not None}
    if store is not None:
        # Only the type: the rest of [store] still comes from the file and OFFERS_STORE__* variables.
        out["store"] = {"type": store.value}
    return out


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``publish`` to ``app``."""

    @app.command("serve")
    def serve(
        host: str | None = typer.Option(None, help="interface to bind (default: configs/serve.toml)"),
        port: int | None = typer.Option(None, help="TCP port (default: configs/serve.toml)"),
        store: StoreKind | None = typer.Option(None, help="online store (default: configs/serve.toml)"),
        publish: bool = typer.Option(
            False, "--publish", help="publish the champion model at start-up even if one is served"
        ),
        config: Path | None = typer.Option(None, help="serving config file [default: configs/serve.toml]"),
    ) -> None:
        """Serve weekly challenges over HTTP (OpenAPI docs at /docs)."""
        import uvicorn

        from engine.serve.app import create_app
        from engine.serve.logs import configure_logging
        from engine.serve.settings import load_settings

        overrides = _overrides(store, host=host, port=port, publish_on_start="always" if publish else None)
        settings = load_settings(config, **overrides)
        configure_logging(settings.log_level)
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            access_log=False,  # one log line per request would cost more than the request at full load
            log_config=None,  # keep the JSON logging configured above
            log_level=settings.log_level,
        )

    @app.command("publish")
    def publish_cmd(
        version: str | None = typer.Option(None, help="model version (default: artifacts/CHAMPION)"),
        config: Path | None = typer.Option(None, help="serving config file [default: configs/serve.toml]"),
    ) -> None:
        """Load a trained model's candidates into Redis and switch serving to it atomically."""
        from engine.serve.app import build_store
        from engine.serve.publish import champion_version, load_for_publish, publish
        from engine.serve.settings import load_settings

        settings = load_settings(config)
        if settings.store.type != "redis":
            raise ConfigError(
                "`offers publish` writes to Redis, but the configured store is embedded; set "
                "OFFERS_STORE__TYPE=redis (the embedded store is filled by `offers serve` at start-up)"
            )
        chosen = version or champion_version(settings.artifact_root)
        publication = load_for_publish(settings.artifact_root, chosen)

        async def run() -> str | None:
            store = build_store(settings)
            try:
                return await publish(store, publication)
            finally:
                await store.close()

        before = asyncio.run(run())
        Console().print(
            f"published model {chosen} ({len(publication.records)} members); previous: {before or 'none'}"
        )
