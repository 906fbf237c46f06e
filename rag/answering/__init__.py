"""Answering: a question read once (question), the features of each candidate passage (features), the learned
answer model (model), which passages to answer from or why none (selection, verdicts), and the answer's text
(rendering), tied together by the extractive answerer (answerer)."""
