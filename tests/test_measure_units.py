"""seqnotes.measure.units.selective_unit on an LSTM trained by train_adding_seeds."""

import pytest

from seqnotes import make_generator
from seqnotes.measure.units import selective_unit
from seqnotes.models.gated import LSTM
from seqnotes.tasks.adding import adding_problem
from seqnotes.training.adding import train_adding_seeds


def test_selective_unit_keys_and_both_lstm_kinds():
    runs = train_adding_seeds(6, [0], kind="lstm", steps=3, n_test=10)
    x, y = adding_problem(50, 6, make_generator(1))
    xt, yt = adding_problem(50, 6, make_generator(2))
    model = runs.model.unstack(0)  # an nn.LSTM and its read-out
    out = selective_unit(model.layer, model.head, x, y, xt, yt)
    assert 0 <= out["unit"] < 32 and out["full"] >= 0 and out["alone"] >= 0
    ours = selective_unit(LSTM.from_torch(model.layer), model.head, x, y, xt, yt)  # the book's own LSTM
    assert ours["unit"] == out["unit"] and ours["full"] == pytest.approx(out["full"], rel=1e-5)
    with pytest.raises(TypeError, match="LSTM"):
        selective_unit(model.head, model.head, x, y, xt, yt)
