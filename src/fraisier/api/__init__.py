"""The GraphQL API: schema (queries, mutations, subscriptions), API tokens, request limits.

`fraisier.api.router.graphql_router(config, store)` gives a FastAPI router to mount at
`/graphql`; `fraisier.api.app.create_api_app(config)` is a FastAPI app holding only that
router. This package's `__init__` imports nothing heavy, so `fraisier tokens` stays fast.
"""
