"""Data (Chapters 1-5): the Korean corpus and vocabulary, the adding problem, numbers -> Korean."""
