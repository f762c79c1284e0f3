"""seqnotes.measure.units: the most selective unit of a trained adding-problem LSTM."""

from seqnotes import make_generator
from seqnotes.measure.units import selective_unit
from seqnotes.tasks.adding import adding_problem
from seqnotes.training.packed import train_packed_seeds, unpack


def test_selective_unit_keys():
    runs = train_packed_seeds("lstm", 6, [0], steps=3, n_test=10)
    x, y = adding_problem(50, 6, make_generator(1))
    xt, yt = adding_problem(50, 6, make_generator(2))
    out = selective_unit(*unpack(runs, 0), x, y, xt, yt)
    assert 0 <= out["unit"] < 32 and out["full"] >= 0 and out["alone"] >= 0
