"""The GraphQL side of pull-request previews, kept in one module: the `previews` query and
the `destroyPreview` mutation, through the same rules as the CLI and webhooks
(fraisier.previews.service). build_schema merges these into Query and Mutation."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from fraisier.api.errors import refused
from fraisier.api.types import Deployment, api
from fraisier.domain.model import Trigger
from fraisier.store.previews import PreviewRecord
from fraisier.store.tokens import Scope


@strawberry.type(description="The preview environment of one pull (merge) request: "
                 "`environment` (pr-<number>) is deployed like any other.")
class Preview:
    id: strawberry.ID = strawberry.field(description="`<fraise>/pr-<number>`.")
    fraise_id: strawberry.ID
    number: int = strawberry.field(description="The pull request's number (GitLab: iid).")
    environment: str
    status: str = strawberry.field(description="active, removing or removed.")
    url: str
    port: int
    database: str = strawberry.field(description="Its own database's name, if it has one.")
    head_branch: str
    head_sha: str
    provider: str
    pull_request_url: str
    title: str
    opened_at: str
    updated_at: str = strawberry.field(description="The last new commit (the TTL counts "
                                       "from here).")
    removed_at: str | None
    reason: str = strawberry.field(description="Why it is being or was removed.")

    @classmethod
    def of(cls, record: PreviewRecord) -> Preview:
        return cls(id=strawberry.ID(f"{record.fraise}/{record.environment}"),
                   fraise_id=strawberry.ID(record.fraise), number=record.number,
                   environment=record.environment, status=record.status, url=record.url,
                   port=record.port, database=record.database, head_branch=record.head_branch,
                   head_sha=record.head_sha, provider=record.provider,
                   pull_request_url=record.pull_url, title=record.title,
                   opened_at=record.opened_at, updated_at=record.updated_at,
                   removed_at=record.removed_at, reason=record.reason)


@strawberry.type
class PreviewQueries:
    @strawberry.field(description="Pull-request previews: open ones (active or being "
                      "removed); with `includeRemoved`, every one.")
    async def previews(self, info: Info, fraise_id: strawberry.ID | None = None,
                       include_removed: bool = False) -> list[Preview]:
        from fraisier.previews.service import list_previews

        ctx = api(info)
        await ctx.authorize(Scope.READ, info.context)
        if fraise_id is not None:
            ctx.fraise_config(str(fraise_id))  # not found: a clear error naming it
        found = await ctx.read(lambda: list_previews(
            ctx.store, fraise=None if fraise_id is None else str(fraise_id),
            include_removed=include_removed))
        ctx.charge(len(found))
        return [Preview.of(record) for record in found]


@strawberry.type
class PreviewMutations:
    @strawberry.mutation(description="Remove a pull request's preview: stop it, drop its "
                         "database, delete its releases and directory (its history is kept). "
                         "The removal is a deployment a worker runs.")
    async def destroy_preview(self, info: Info, fraise_id: strawberry.ID,
                              number: int) -> Deployment:
        from fraisier.engine.service import RequestRefused
        from fraisier.previews.service import destroy

        ctx = api(info)
        principal = await ctx.authorize(Scope.DEPLOY, info.context)
        ctx.fraise_config(str(fraise_id))

        def remove() -> Deployment:
            deployment_id = destroy(ctx.store, ctx.config, str(fraise_id), number,
                                    actor=ctx.actor(principal), trigger=Trigger.API)
            return Deployment.of(ctx.store.queue.get(deployment_id, with_steps=False))

        try:
            return await ctx.read(remove)
        except RequestRefused as exc:
            raise refused(exc) from None
