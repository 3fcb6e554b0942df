"""Any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, LM Studio, OpenAI itself).

Through the official ``openai`` client rather than raw HTTP: it is the client these servers
document and test against, and its typed errors (``RateLimitError``, ``APITimeoutError``,
``APIStatusError.status_code``) separate what to retry from what to give up on. Its own
retries are turned off (``max_retries=0``): the armour retries, logs and records each attempt.

Images go as ``data:image/png;base64`` URLs; the answer's schema as a ``json_schema``
response format, non-strict because strict mode demands ``additionalProperties: false`` and
every property required, which the task spec's optional parameters are not.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import openai

from experimenter.planner.backends.base import (
    PermanentError,
    Reply,
    Request,
    TransientError,
    Usage,
)
from experimenter.planner.backends.transport import TRANSPORT_ERRORS, is_retryable_status
from experimenter.planner.config import PlannerSettings

_TRANSIENT: tuple[type[BaseException], ...] = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    *TRANSPORT_ERRORS,
)


def _strip_gemini_keys(node: Any) -> Any:
    """The schema without Gemini's ``propertyOrdering`` extension (plain JSON Schema)."""
    if isinstance(node, dict):
        return {k: _strip_gemini_keys(v) for k, v in node.items() if k != "propertyOrdering"}
    if isinstance(node, list):
        return [_strip_gemini_keys(v) for v in node]
    return node


@dataclass
class OpenAIBackend:
    """Asks ``model`` at an OpenAI-compatible ``client``."""

    client: openai.OpenAI
    model: str
    max_output_tokens: int = 4096
    name: str = "openai"
    remote: bool = True

    @classmethod
    def from_settings(cls, settings: PlannerSettings) -> OpenAIBackend:
        key = settings.openai_api_key
        client = openai.OpenAI(
            base_url=settings.openai_base_url,
            # Local servers take any key; the client insists on one.
            api_key=key.get_secret_value() if key is not None else "not-needed",
            timeout=settings.timeout_s,
            max_retries=0,
        )
        return cls(
            client=client, model=settings.openai_model, max_output_tokens=settings.max_output_tokens
        )

    def ask(self, request: Request) -> Reply:
        content: list[dict[str, Any]] = [
            {
                "type": "image_url",
                "image_url": {"url": "data:image/png;base64," + base64.b64encode(im.png).decode()},
            }
            for im in request.images
        ]
        content.append({"type": "text", "text": request.prompt})
        # Typed as Any: the client's TypedDict overloads cannot see that these literals fit.
        messages: Any = [{"role": "user", "content": content}]
        response_format: Any = {
            "type": "json_schema",
            "json_schema": {
                "name": f"{request.kind}_answer",
                "schema": _strip_gemini_keys(request.schema),
                "strict": False,
            },
        }
        try:
            completion = self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                response_format=response_format,
                max_tokens=self.max_output_tokens,
            )
        except openai.APIStatusError as e:
            message = f"openai-compatible {self.model}: HTTP {e.status_code}: {e.message}"
            if is_retryable_status(e.status_code):
                raise TransientError(message) from e
            raise PermanentError(message) from e
        except _TRANSIENT as e:
            raise TransientError(f"openai-compatible {self.model}: {type(e).__name__}: {e}") from e
        choice = completion.choices[0] if completion.choices else None
        text = choice.message.content if choice is not None else None
        usage = completion.usage
        return Reply(
            text=text or f"(no text; finish reason {choice.finish_reason if choice else None})",
            usage=Usage(
                tokens_in=usage.prompt_tokens if usage else 0,
                tokens_out=usage.completion_tokens if usage else 0,
            ),
            model=completion.model or self.model,
        )
