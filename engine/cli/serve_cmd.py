"""``offers serve`` (the HTTP service) and ``offers publish`` (load a trained model into the store).

Both import the serving stage lazily, and serving never imports training code or MLflow.
"""

from __future__ import annotations

import asyncio
import enum
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from engine.errors import ArtifactError, ConfigError, NotFound

if TYPE_CHECKING:
    from engine.serve.settings import Settings


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


def _worker_environment(
    config: Path | None, store: StoreKind | None, host: str | None, port: int | None
) -> dict[str, str]:
    from engine.serve.settings import CONFIG_FILE_VARIABLE

    env = {CONFIG_FILE_VARIABLE: str(config)} if config is not None else {}
    if store is not None:
        env["OFFERS_STORE__TYPE"] = store.value
    if host is not None:
        env["OFFERS_HOST"] = host
    if port is not None:
        env["OFFERS_PORT"] = str(port)
    return env


def _metrics_environment(settings: Settings) -> dict[str, str]:
    """One metrics folder for every worker, emptied now (prometheus_client's multiprocess mode)."""
    import tempfile

    from engine.serve.metrics import MULTIPROC_VARIABLE, reset_multiprocess_dir

    folder = settings.metrics.multiprocess_dir or Path(tempfile.mkdtemp(prefix="offers-metrics-"))
    reset_multiprocess_dir(folder)
    return {MULTIPROC_VARIABLE: str(folder), "OFFERS_METRICS__MULTIPROCESS_DIR": str(folder)}


def _publish_once(settings: Settings) -> None:
    """Publish the champion before the workers start (they must not race to do it each)."""
    from engine.champion import champion_version
    from engine.rules.config import load_rules
    from engine.serve.app import build_store
    from engine.serve.publish import load_for_publish, publish

    async def run() -> None:
        store = build_store(settings)
        try:
            current = await store.current_version()
            if settings.publish_on_start == "always" or (
                settings.publish_on_start == "if_empty" and current is None
            ):
                version = champion_version(settings.artifact_root)
                rules = load_rules(settings.rules_path)
                await publish(store, load_for_publish(settings.artifact_root, version, rules))
        finally:
            await store.close()

    if settings.publish_on_start != "never":
        try:
            asyncio.run(run())
        except (ArtifactError, NotFound) as exc:
            # A bad or missing champion must not keep the service down: it starts not ready.
            Console(stderr=True).print(f"no model published at start-up: {exc.message}", highlight=False)


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
        workers: int | None = typer.Option(None, help="worker processes (Redis store only)"),
        config: Path | None = typer.Option(None, help="serving config file [default: configs/serve.toml]"),
    ) -> None:
        """Serve weekly challenges over HTTP (OpenAPI docs at /docs)."""
        import uvicorn

        from engine.serve.app import create_app
        from engine.serve.logs import configure_logging
        from engine.serve.settings import load_settings

        overrides = _overrides(
            store, host=host, port=port, workers=workers, publish_on_start="always" if publish else None
        )
        settings = load_settings(config, **overrides)
        configure_logging(settings.log_level)
        options: dict[str, object] = {
            "host": settings.host,
            "port": settings.port,
            "loop": "uvloop",
            "http": "httptools",
            "lifespan": "on",
            "access_log": False,  # a log line per request would cost more than the request at full load
            "log_config": None,  # keep the JSON logging configured above
            "log_level": settings.log_level,
        }
        if settings.workers == 1:
            uvicorn.run(create_app(settings), **options)  # type: ignore[arg-type]
            return
        if settings.store.type != "redis":
            raise ConfigError(
                f"workers = {settings.workers} needs the Redis store: the embedded store lives in one process"
            )
        _publish_once(settings)
        # Worker processes rebuild the settings from the environment: hand them this command's choices.
        os.environ.update(_worker_environment(config, store, host, port))
        os.environ.update(_metrics_environment(settings))
        os.environ["OFFERS_PUBLISH_ON_START"] = "never"
        uvicorn.run(
            "engine.serve.app:app_from_environment",
            factory=True,
            workers=settings.workers,
            **options,  # type: ignore[arg-type]
        )

    @app.command("publish")
    def publish_cmd(
        version: str | None = typer.Option(None, help="model version (default: artifacts/CHAMPION)"),
        config: Path | None = typer.Option(None, help="serving config file [default: configs/serve.toml]"),
    ) -> None:
        """Load a trained model's candidates into the configured store and switch serving to it atomically.

        Redis: every running service serves it on its next request. Embedded store: written into its
        SQLite file; a service already running on that file keeps its model until it restarts or is told
        with the admin call ``POST /v1/admin/models/VERSION:publish``.
        """
        from engine.champion import champion_version
        from engine.redis_errors import redis_location
        from engine.rules.config import load_rules
        from engine.serve.app import build_store
        from engine.serve.publish import load_for_publish, publish
        from engine.serve.settings import load_settings

        settings = load_settings(config)
        if settings.store.type == "embedded" and settings.embedded.path is None:
            raise ConfigError(
                "`offers publish`: the embedded store keeps everything in memory ([embedded] path is unset), "
                "so there is nothing to publish into; set [embedded] path, use Redis "
                "(OFFERS_STORE__TYPE=redis), or let `offers serve` publish the champion at start-up"
            )
        chosen = version or champion_version(settings.artifact_root)
        publication = load_for_publish(settings.artifact_root, chosen, load_rules(settings.rules_path))

        async def run() -> str | None:
            store = build_store(settings)
            try:
                return await publish(store, publication)
            finally:
                await store.close()

        before = asyncio.run(run())
        into = (
            f"Redis at {redis_location(settings.store.url)}"
            if settings.store.type == "redis"
            else f"the embedded store {settings.embedded.path}"
        )
        note = (
            ""
            if settings.store.type == "redis"
            else f"; a service already running on that file serves it after a restart or "
            f"`POST /v1/admin/models/{chosen}:publish`"
        )
        Console(soft_wrap=True).print(
            f"published model {chosen} ({len(publication.records)} members) into {into}; "
            f"previous: {before or 'none'}{note}",
            highlight=False,
        )
