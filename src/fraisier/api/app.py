"""A FastAPI app serving only the GraphQL API at /graphql (the full server mounts the same
router next to its webhook routes).

    FRAISIER_CONFIG=fraises.yaml uvicorn --factory fraisier.api.app:app_from_env
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fraisier.api.router import graphql_router


def create_api_app(config, store=None) -> FastAPI:
    from fraisier.engine.service import open_state

    owned = store is None
    store = store if store is not None else open_state(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        if owned:
            store.close()

    app = FastAPI(title="Fraisier", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.include_router(graphql_router(config, store), prefix="/graphql")
    return app


def app_from_env() -> FastAPI:
    from fraisier.api.threads import share_interpreter_fairly
    from fraisier.config import load_config

    share_interpreter_fairly()
    return create_api_app(load_config(os.environ.get("FRAISIER_CONFIG", "fraises.yaml")))
