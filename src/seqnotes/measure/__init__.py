"""The chapters' measurements: gradients by distance, timing, context, graph depth and memory.

``gradients`` (Chapters 2, 3, 5), ``context`` (what context a trained model uses),
``timing``, ``graph`` (sequential depth and saved memory), ``text`` (Chapter 1's text
statistics), ``units`` (one trained LSTM unit, Chapter 3), ``reader`` (a trained number
reader, Chapter 4.2).
"""
