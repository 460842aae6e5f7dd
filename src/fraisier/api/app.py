"""A FastAPI app serving only the GraphQL API at /graphql (the full server mounts the same
router next to its webhook routes).

    FRAISIER_CONFIG=fraises.yaml uvicorn --factory fraisier.api.app:app_from_env
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from fraisier.api.router import graphql_router

if TYPE_CHECKING:
    from fraisier.config import FraisierConfig
    from fraisier.store import Store


def create_api_app(config: FraisierConfig, store: Store | None = None) -> FastAPI:
    from fraisier.engine.service import open_state

    owned = store is None
    state = store if store is not None else open_state(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            state.close()

    app = FastAPI(title="Fraisier", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.include_router(graphql_router(config, state), prefix="/graphql")
    return app


def app_from_env() -> FastAPI:
    from fraisier.api.threads import share_interpreter_fairly
    from fraisier.config import load_config

    share_interpreter_fairly()
    return create_api_app(load_config(os.environ.get("FRAISIER_CONFIG", "fraises.yaml")))
