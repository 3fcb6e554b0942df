"""Any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, LM Studio, OpenAI itself).

Through the official ``openai`` client rather than raw HTTP: it is the client these servers
document and test against, and its typed errors (``RateLimitError``, ``APITimeoutError``,
``APIStatusError.status_code``) separate what to retry from what to give up on. Its own
retries are turned off (``max_retries=0``): the planner retries, logs and records each attempt.

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
    READ_ERRORS,
    MalformedReply,
    PermanentError,
    Reply,
    Request,
    TransientError,
    Usage,
    quote_body,
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

    @property
    def max_reply_tokens(self) -> int:
        """The most output tokens one answer can be billed for (``max_tokens``)."""
        return self.max_output_tokens

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
                timeout=request.timeout_s if request.timeout_s is not None else openai.NOT_GIVEN,
            )
        except openai.APIStatusError as e:
            message = f"openai-compatible {self.model}: HTTP {e.status_code}: {e.message}"
            if is_retryable_status(e.status_code):
                raise TransientError(message) from e
            raise PermanentError(message) from e
        except _TRANSIENT as e:
            raise TransientError(f"openai-compatible {self.model}: {type(e).__name__}: {e}") from e
        except READ_ERRORS as e:
            # The client's json.loads on a truncated body (JSONDecodeError keeps the text).
            doc = getattr(e, "doc", None)
            raise MalformedReply(
                f"openai-compatible {self.model}: the reply is not a chat completion "
                f"({type(e).__name__}: {e})",
                body=quote_body(doc) if isinstance(doc, str | bytes) else None,
            ) from e
        return self._read(completion)

    def _read(self, completion: Any) -> Reply:
        """The answer in ``completion``. The client builds its result without validating it
        and hands back the text itself when the body is not JSON (an HTML page): whatever is
        not a chat completion with a text message is a ``MalformedReply``."""
        if not isinstance(completion, openai.types.chat.ChatCompletion):
            raise MalformedReply(
                f"openai-compatible {self.model}: the reply is not a chat completion "
                f"(a {type(completion).__name__})",
                body=quote_body(completion),
            )
        try:
            choices = completion.choices
            choice = choices[0] if choices else None
            text = choice.message.content if choice is not None else None
            if text is not None and not isinstance(text, str):
                raise TypeError(f"message content is a {type(text).__name__}, not text")
            usage = completion.usage
            tokens = Usage(
                tokens_in=int(usage.prompt_tokens or 0) if usage else 0,
                tokens_out=int(usage.completion_tokens or 0) if usage else 0,
            )
            reason = choice.finish_reason if choice is not None else None
            model = completion.model if isinstance(completion.model, str) else None
        except READ_ERRORS as e:
            raise MalformedReply(
                f"openai-compatible {self.model}: the reply is not a chat completion "
                f"({type(e).__name__}: {e})",
                body=quote_body(completion.model_dump_json(warnings=False)),
            ) from e
        return Reply(
            text=text or f"(no text; finish reason {reason})",
            usage=tokens,
            model=model or self.model,
        )
