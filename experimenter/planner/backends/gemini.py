"""Gemini through Google's google-genai SDK: inline PNG parts and a response schema.

The SDK's own retries are left off (its default): the planner retries, so that every attempt
is logged and recorded and the budgets see them all.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass
from typing import Any

from google import genai
from google.genai import errors, types

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

log = logging.getLogger(__name__)

DYNAMIC_THINKING_TOKENS = 32_768
"""Most thinking tokens when the model decides (budget -1, or the model's default): the
largest thinking budget of the Gemini 2.5 models (Pro), for the worst-case cost check."""


@dataclass
class GeminiBackend:
    """Asks a Gemini model; ``client`` is a configured ``genai.Client``."""

    client: genai.Client
    model: str
    thinking_budget: int | None = 1024
    max_output_tokens: int = 4096
    name: str = "gemini"
    remote: bool = True

    @property
    def max_reply_tokens(self) -> int:
        """The most output tokens one answer can be billed for: the answer and the thinking."""
        budget = self.thinking_budget
        thinking = DYNAMIC_THINKING_TOKENS if budget is None or budget < 0 else budget
        return self.max_output_tokens + thinking

    @classmethod
    def from_settings(cls, settings: PlannerSettings) -> GeminiBackend:
        key = settings.gemini_api_key
        if key is None:
            raise ValueError(
                "the gemini backend needs an API key: set GEMINI_API_KEY (or GOOGLE_API_KEY); "
                "or use EXPERIMENTER_PLANNER_BACKEND=offline, which needs none"
            )
        options = types.HttpOptions(
            base_url=settings.gemini_base_url,
            api_version=settings.gemini_api_version,
            timeout=int(settings.timeout_s * 1000),  # milliseconds
        )
        client = genai.Client(api_key=key.get_secret_value(), http_options=options)
        return cls(
            client=client,
            model=settings.gemini_model,
            thinking_budget=settings.gemini_thinking_budget,
            max_output_tokens=settings.max_output_tokens,
        )

    def _config(
        self, schema: dict[str, Any], timeout_s: float | None = None
    ) -> types.GenerateContentConfig:
        thinking = (
            types.ThinkingConfig(thinking_budget=self.thinking_budget)
            if self.thinking_budget is not None
            else None
        )
        return types.GenerateContentConfig(
            response_mime_type="application/json",
            response_schema=copy.deepcopy(schema),  # the SDK may rewrite it; ours is shared
            max_output_tokens=self.max_output_tokens,
            thinking_config=thinking,
            # This attempt's timeout, merged by the SDK into the client's options.
            http_options=types.HttpOptions(timeout=max(1, math.ceil(timeout_s * 1000)))
            if timeout_s is not None
            else None,
        )

    def ask(self, request: Request) -> Reply:
        # Images first, then the text that refers to them as "image 1", "image 2".
        parts = [types.Part.from_bytes(data=im.png, mime_type="image/png") for im in request.images]
        parts.append(types.Part.from_text(text=request.prompt))
        config = self._config(request.schema, request.timeout_s)
        try:
            response = self.client.models.generate_content(
                model=self.model, contents=[types.Content(role="user", parts=parts)], config=config
            )
            meta = response.usage_metadata
            usage = Usage(
                tokens_in=(meta.prompt_token_count or 0) if meta else 0,
                tokens_out=((meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0))
                if meta
                else 0,
            )
            text = response.text
            if not text:
                # Blocked or cut short: an invalid answer (repaired), not a transport failure.
                reason = response.candidates[0].finish_reason if response.candidates else None
                text = f"(no text; finish reason {reason})"
            model = response.model_version or self.model
        except errors.APIError as e:
            message = f"gemini {self.model}: HTTP {e.code} {e.status or ''}: {e.message or ''}"
            if is_retryable_status(e.code):
                raise TransientError(message) from e
            raise PermanentError(message) from e
        except TRANSPORT_ERRORS as e:
            raise TransientError(f"gemini {self.model}: {type(e).__name__}: {e}") from e
        except READ_ERRORS as e:
            # A 200 whose body is not a generateContent answer: the SDK's json.loads fails on
            # a truncated body or an HTML page (JSONDecodeError keeps the text in ``doc``), its
            # converters on JSON of another shape.
            doc = getattr(e, "doc", None)
            raise MalformedReply(
                f"gemini {self.model}: the reply is not a generateContent answer "
                f"({type(e).__name__}: {e})",
                body=quote_body(doc) if isinstance(doc, str | bytes) else None,
            ) from e
        return Reply(text=text, usage=usage, model=model)
