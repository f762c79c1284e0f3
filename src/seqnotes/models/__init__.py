"""The lecture's models, each checked against its ``torch.nn`` counterpart (Chapters 1-5).

``ngram`` (Chapter 1), ``recurrent`` (the RNN and the recurrent contract, Chapter 2),
``gated`` (LSTM and GRU, Chapter 3), ``attention`` (Chapter 4.1), ``transformer`` and
``seq2seq`` (Chapter 4.2), ``lm`` (the language-model interface, config and factory).
No model module imports :mod:`seqnotes.training`.
"""
