"""The planner's settings: backend, endpoints, keys, models, prices, budgets and retries.

One pydantic-settings class, read at the edges (the CLI, the daemon) and handed down as a
value; nothing below this module reads the environment. Every field can be set as
``EXPERIMENTER_PLANNER_<NAME>``; the API keys also come from the names their vendors use
(``GEMINI_API_KEY`` or ``GOOGLE_API_KEY``; ``OPENAI_API_KEY``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ModelPrice(BaseModel):
    """What one model costs, in US dollars per million tokens."""

    input: float = Field(ge=0, description="Per million prompt tokens (text and images).")
    output: float = Field(ge=0, description="Per million output tokens, thinking included.")


DEFAULT_PRICES: dict[str, ModelPrice] = {
    # Gemini API paid tier, prompts up to 200k tokens (ai.google.dev/gemini-api/docs/pricing,
    # 2025-26). Thinking tokens are billed as output.
    "gemini-2.5-flash": ModelPrice(input=0.30, output=2.50),
    "gemini-2.5-flash-lite": ModelPrice(input=0.10, output=0.40),
    "gemini-2.5-pro": ModelPrice(input=1.25, output=10.00),
    "gemini-3-flash-preview": ModelPrice(input=0.50, output=3.00),
    "gemini-2.0-flash": ModelPrice(input=0.10, output=0.40),
}


class PlannerSettings(BaseSettings):
    """How the planner asks its questions (``EXPERIMENTER_PLANNER_<NAME>``)."""

    # "null" in the environment is None: how a budget is lifted (max_dollars) or the model's
    # own thinking default chosen (gemini_thinking_budget), as the descriptions below say.
    model_config = SettingsConfigDict(
        env_prefix="EXPERIMENTER_PLANNER_", extra="ignore", populate_by_name=True,
        env_parse_none_str="null",
    )  # fmt: skip

    backend: str = Field(
        default="offline",
        description="Backend answering the questions: offline (no network), gemini, openai "
        "or replay.",
    )
    # --- gemini ---------------------------------------------------------------------------
    gemini_model: str = Field(default="gemini-2.5-flash", description="Gemini model name.")
    gemini_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "EXPERIMENTER_PLANNER_GEMINI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"
        ),
        description="Gemini API key; GEMINI_API_KEY or GOOGLE_API_KEY.",
    )
    gemini_base_url: str | None = Field(
        default=None, description="Gemini API base URL (default: Google's endpoint)."
    )
    gemini_api_version: str | None = Field(
        default=None, description="Gemini API version in the path (v1beta, v1; default: SDK's)."
    )
    gemini_thinking_budget: int | None = Field(
        default=1024,
        ge=-1,
        description="Most thinking tokens per call (billed as output); 0 turns thinking off, "
        "-1 lets the model decide, null leaves the model's default.",
    )
    # --- openai-compatible ----------------------------------------------------------------
    openai_base_url: str = Field(
        default="http://127.0.0.1:8000/v1",
        description="Base URL of an OpenAI-compatible chat-completions API (vLLM, Ollama: "
        "http://127.0.0.1:11434/v1).",
    )
    openai_model: str = Field(default="Qwen/Qwen2.5-VL-7B-Instruct", description="Model name.")
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("EXPERIMENTER_PLANNER_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="API key of the endpoint (local servers usually need none).",
    )
    # --- replay ---------------------------------------------------------------------------
    replay_file: Path | None = Field(
        default=None, description="Recorded decisions (JSON lines) answered by the replay backend."
    )
    # --- prices and budgets ---------------------------------------------------------------
    prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES),
        description="Dollars per million tokens by model name (JSON in the environment).",
    )
    max_calls: int | None = Field(
        default=None, ge=0, description="Most calls to a paid or remote backend (null: no limit)."
    )
    max_tokens: int | None = Field(
        default=None, ge=0, description="Most tokens (prompt + output) in all (null: no limit)."
    )
    max_dollars: float | None = Field(
        default=5.0, ge=0, description="Most dollars spent on planner calls (null: no limit)."
    )
    on_budget: Literal["stop", "offline"] = Field(
        default="stop",
        description="When a budget is spent: stop (raise BudgetExhausted, the experiment "
        "stops) or offline (answer the rest with the offline backend).",
    )
    # --- fault handling -------------------------------------------------------------------
    timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds one HTTP request may take (at most what is left of the "
        "question's time).",
    )
    question_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="Seconds one question may take in all: every attempt, the backoffs "
        "between them and the repair re-ask. When they are spent the offline rules answer, "
        "and for the rest of the iteration the backend is not asked again.",
    )
    retries: int = Field(
        default=3, ge=0, le=10, description="Retries of a call on 429, 5xx and timeouts."
    )
    backoff_s: float = Field(
        default=2.0, ge=0, description="First backoff; doubles each retry, with jitter."
    )
    backoff_max_s: float = Field(default=30.0, ge=0, description="Longest backoff.")
    cache_dir: Path | None = Field(
        default=None,
        description="Folder of the response cache (survives restarts); null keeps it in memory.",
    )
    max_output_tokens: int = Field(
        default=4096, ge=64, description="Most output tokens per answer (thinking excluded)."
    )
