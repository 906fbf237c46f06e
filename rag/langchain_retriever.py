"""A LangChain ``BaseRetriever`` over irchat's hybrid search, for users' own chains."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.serialize import hit_to_dict


class IrchatRetriever(BaseRetriever):
    """Documents are Q&A passages; metadata carries the citation (``[2024-013 Q5]``) and record fields."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Any
    k: int = 5
    filters: dict[str, Any] | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        with_company = self.assistant.with_company
        docs = []
        for hit in self.assistant.search(query, self.k, self.filters):
            meta = hit_to_dict(hit, with_company)
            text = meta.pop("text")
            docs.append(Document(page_content=text, metadata={k: v for k, v in meta.items() if v is not None}))
        return docs
