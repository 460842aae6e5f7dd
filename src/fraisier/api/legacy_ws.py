"""The older `graphql-ws` WebSocket protocol, running every operation type.

Strawberry's handler for it only subscribes, so a query or mutation sent with `start` failed
as "Unexpected error." (a masked InvalidOperationTypeError) with a traceback in the log.
This one runs them the way `graphql-transport-ws` and HTTP do (`Schema.stream`: one `data`
message, then `complete`), with the same scopes, bounds and errors.
"""

from __future__ import annotations

import asyncio
from typing import Any

from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import CompleteMessage, ErrorMessage
from strawberry.types.execution import ExecutionResult, PreExecutionError


class LegacyWSHandler(BaseGraphQLWSHandler[Any, Any]):
    async def handle_async_results(self, operation_id: str, query: str,
                                   operation_name: str | None,
                                   variables: dict[str, object] | None) -> None:
        try:
            result_source = await self.schema.stream(
                query=query, variable_values=variables, operation_name=operation_name,
                context_value=self.context, root_value=self.root_value)
            self.subscriptions[operation_id] = result_source
            first = True
            async for result in result_source:
                if first and isinstance(result, PreExecutionError):
                    assert result.errors
                    await self.send_message(ErrorMessage(
                        type="error", id=operation_id, payload=result.errors[0].formatted))
                    return
                if not isinstance(result, ExecutionResult):  # @defer/@stream: not offered
                    await self.send_message(ErrorMessage(
                        type="error", id=operation_id,
                        payload={"message": "incremental delivery is not supported"}))
                    return
                await self.send_data_message(result, operation_id)
                first = False
            await self.send_message(CompleteMessage(type="complete", id=operation_id))
        except asyncio.CancelledError:
            await self.send_message(CompleteMessage(type="complete", id=operation_id))
        finally:
            self.subscriptions.pop(operation_id, None)
            self.tasks.pop(operation_id, None)
