"""Data: the Korean corpus and its vocabulary, the adding problem, numbers -> Korean readings."""
