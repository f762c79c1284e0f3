"""Training: the one loop (``loop``), schedules, and every chapter's recipe as data.

``recipes`` (character LMs, Chapter 5's ``LMRecipe``/``train_lm``, the number reader),
``adding`` (the adding problem, one model or a batch of seeds), ``packed`` (many seeds in
one block-diagonal ``torch.nn`` layer).
"""
