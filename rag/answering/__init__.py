"""Answering: a question read once (question), the features of each candidate passage (features), the learned
answer model (model), which passages to answer from or why none (selection, verdicts; periods reads which period
each sentence of a passage is about), and the answer's text (rendering), tied together by the extractive answerer
(answerer)."""
