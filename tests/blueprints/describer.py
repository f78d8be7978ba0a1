"""A test AI task entity, for Home Assistant 2025.8 and newer (``ai_task``).

Import it only after ``pytest.importorskip("homeassistant.components.ai_task")``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from homeassistant.components.ai_task import (
    AITaskEntity,
    AITaskEntityFeature,
    GenDataTask,
    GenDataTaskResult,
)
from homeassistant.components.conversation import ChatLog
from homeassistant.exceptions import HomeAssistantError


@dataclass(frozen=True)
class Picture:
    """An attachment as the AI received it."""

    media_content_id: str
    mime_type: str
    data: bytes


class Describer(AITaskEntity):
    """Answers every task with ``answer``; keeps what it was given.

    ``hold``: an event the answer waits for (a slow AI); ``fails``: the AI errs.
    """

    _attr_name = "Describer"
    _attr_unique_id = "describer"
    _attr_supported_features = (
        AITaskEntityFeature.GENERATE_DATA | AITaskEntityFeature.SUPPORT_ATTACHMENTS
    )

    def __init__(self) -> None:
        """No task yet."""
        self.answer = "A courier with a parcel."
        self.tasks: list[tuple[str, list[Picture]]] = []
        self.hold: asyncio.Event | None = None
        self.fails = False
        self.cancelled = 0

    async def _async_generate_data(
        self, task: GenDataTask, chat_log: ChatLog
    ) -> GenDataTaskResult:
        """Read the pictures (HA deletes its copies after the task), then answer."""
        pictures = [
            Picture(
                attachment.media_content_id,
                attachment.mime_type,
                await self.hass.async_add_executor_job(attachment.path.read_bytes),
            )
            for attachment in task.attachments or []
        ]
        self.tasks.append((task.instructions, pictures))
        if self.fails:
            raise HomeAssistantError("The model is not loaded")
        if self.hold is not None:
            try:
                await self.hold.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        return GenDataTaskResult(
            conversation_id=chat_log.conversation_id, data=self.answer
        )
